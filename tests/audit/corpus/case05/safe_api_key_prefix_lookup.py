# expect: none
"""API keys: a public prefix finds the record, the secret part is compared as a hash."""

import hashlib
import hmac

from django.http import JsonResponse

from .models import ApiKey

PREFIX_LENGTH = 8


def authenticate_api_key(request):
    presented = request.headers.get("X-Api-Key", "")
    if not presented.startswith("pk_") or len(presented) < 20:
        return None
    prefix = presented[3 : 3 + PREFIX_LENGTH]
    record = ApiKey.objects.filter(prefix=prefix, revoked=False).first()
    if record is None:
        return None
    digest = hashlib.sha256(presented.encode()).hexdigest()
    if not hmac.compare_digest(digest, record.key_sha256):
        return None
    return record.owner


def whoami(request):
    owner = authenticate_api_key(request)
    if owner is None:
        return JsonResponse({"detail": "unauthorized"}, status=401)
    return JsonResponse({"owner": owner.public_id})
