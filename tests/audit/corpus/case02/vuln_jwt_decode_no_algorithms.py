# expect: 2
"""Django middleware that authenticates requests with a bearer JWT."""

import jwt
from django.conf import settings
from django.http import JsonResponse


class JWTAuthenticationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        auth = request.META.get("HTTP_AUTHORIZATION", "")
        if auth.startswith("Bearer "):
            try:
                payload = jwt.decode(auth[7:], settings.JWT_VERIFYING_KEY, audience="portal")
            except jwt.PyJWTError:
                return JsonResponse({"detail": "unauthorized"}, status=401)
            request.jwt_claims = payload
            request.jwt_subject = payload.get("sub")
        return self.get_response(request)
