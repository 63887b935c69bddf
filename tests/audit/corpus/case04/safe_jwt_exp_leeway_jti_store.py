# expect: none
"""One-time action tokens; used ids live in Redis, shared by every worker."""

import jwt
from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django_redis import get_redis_connection

from .expenses import approve

LEEWAY_SECONDS = 30


def approve_by_link(request, token: str):
    try:
        claims = jwt.decode(
            token,
            settings.ACTION_TOKEN_KEY,
            algorithms=["HS256"],
            audience="expense-approval",
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "jti"]},
        )
    except jwt.InvalidTokenError:
        return HttpResponseForbidden()
    redis = get_redis_connection("default")
    if not redis.set(f"used-jti:{claims['jti']}", 1, nx=True, exat=claims["exp"] + 60):
        return HttpResponseForbidden()
    approve(claims["expense"], approver=claims["sub"])
    return HttpResponse("approved")
