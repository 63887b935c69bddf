# expect: none
"""Password reset confirmation with timezone-aware expiry."""

import hashlib
from datetime import UTC, datetime, timedelta

from django.http import JsonResponse

from .models import PasswordReset

RESET_TTL = timedelta(hours=1)


def create_reset(user, token: str) -> PasswordReset:
    return PasswordReset.objects.create(
        user=user,
        token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        expires_at=datetime.now(UTC) + RESET_TTL,
    )


def confirm_reset(request, token: str):
    digest = hashlib.sha256(token.encode()).hexdigest()
    updated = PasswordReset.objects.filter(
        token_sha256=digest, used=False, expires_at__gt=datetime.now(UTC)
    ).update(used=True)
    if updated != 1:
        return JsonResponse({"detail": "link invalid or expired"}, status=400)
    reset = PasswordReset.objects.get(token_sha256=digest)
    reset.user.set_password(request.POST["password"])
    reset.user.save()
    return JsonResponse({"detail": "password changed"})
