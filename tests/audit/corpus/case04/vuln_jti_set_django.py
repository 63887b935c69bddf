# expect: 4
"""One-time action tokens (e.g. "approve this expense" links)."""

import jwt
from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden

from .expenses import approve

_used_jtis: set[str] = set()


def approve_by_link(request, token: str):
    try:
        claims = jwt.decode(
            token, settings.ACTION_TOKEN_KEY, algorithms=["HS256"], audience="expense-approval"
        )
    except jwt.InvalidTokenError:
        return HttpResponseForbidden()
    if claims["jti"] in _used_jtis:
        return HttpResponseForbidden()
    _used_jtis.add(claims["jti"])
    approve(claims["expense"], approver=claims["sub"])
    return HttpResponse("approved")
