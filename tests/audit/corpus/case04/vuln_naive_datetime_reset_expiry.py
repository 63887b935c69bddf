# expect: 4
"""Password reset confirmation."""

import hashlib
from datetime import datetime, timedelta

from django.http import JsonResponse

from .models import PasswordReset

RESET_TTL = timedelta(hours=1)


def create_reset(user, token: str) -> PasswordReset:
    return PasswordReset.objects.create(
        user=user,
        token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        expires_at=datetime.now() + RESET_TTL,
    )


def confirm_reset(request, token: str):
    digest = hashlib.sha256(token.encode()).hexdigest()
    reset = PasswordReset.objects.filter(token_sha256=digest, used=False).first()
    if reset is None or reset.expires_at < datetime.now():
        return JsonResponse({"detail": "link invalid or expired"}, status=400)
    reset.user.set_password(request.POST["password"])
    reset.user.save()
    reset.used = True
    reset.save()
    return JsonResponse({"detail": "password changed"})
