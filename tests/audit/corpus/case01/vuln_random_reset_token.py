# expect: 1
"""Password reset: issue a token and e-mail a link."""

import random
import string
from datetime import UTC, datetime, timedelta

from flask import Flask, request

from .mail import send_mail
from .models import PasswordReset, User, db

app = Flask(__name__)
ALPHABET = string.ascii_letters + string.digits


def make_reset_token(length: int = 40) -> str:
    return "".join(random.choice(ALPHABET) for _ in range(length))


@app.post("/password/forgot")
def forgot_password():
    user = User.query.filter_by(email=request.form["email"]).first()
    if user is not None:
        token = make_reset_token()
        expires = datetime.now(UTC) + timedelta(hours=1)
        db.session.add(PasswordReset(user=user, token=token, expires_at=expires))
        db.session.commit()
        send_mail(user.email, "Reset your password", f"https://shop.example/reset/{token}")
    return {"status": "If the address exists, a link is on its way."}, 202
