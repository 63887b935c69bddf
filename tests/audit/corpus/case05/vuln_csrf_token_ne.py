# expect: 5
"""Hand-rolled CSRF protection for the legacy form handlers."""

import secrets

from flask import Flask, abort, request, session

app = Flask(__name__)


def csrf_token() -> str:
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return session["csrf_token"]


@app.before_request
def check_csrf():
    if request.method in ("POST", "PUT", "DELETE"):
        submitted = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
        if submitted != session.get("csrf_token"):
            abort(400)


app.jinja_env.globals["csrf_token"] = csrf_token
