# expect: none
"""E-mail confirmation links; the serializer returns only what it verified."""

import os

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_serializer = URLSafeTimedSerializer(os.environ["CONFIRM_SECRET"], salt="email-confirm")
MAX_AGE = 48 * 3600


def confirmation_token(user_pk: int, email: str) -> str:
    return _serializer.dumps({"pk": user_pk, "email": email})


def confirm(token: str, users) -> bool:
    try:
        data = _serializer.loads(token, max_age=MAX_AGE)
    except (SignatureExpired, BadSignature):
        return False
    user = users.get(data["pk"])
    if user is None:
        return False
    user.confirm_email(data["email"])
    return True
