# expect: none
"""Authentication events for the security log."""

import logging

security_log = logging.getLogger("security")


def login_succeeded(user, request) -> None:
    security_log.info(
        "login ok user=%s ip=%s mfa=%s", user.public_id, request.remote_addr, user.mfa_enabled
    )


def login_failed(username: str, request, reason: str) -> None:
    security_log.warning(
        "login failed username=%s ip=%s reason=%s", username, request.remote_addr, reason
    )


def token_revoked(token_id: str, by_user) -> None:
    security_log.info("token revoked jti=%s by=%s", token_id, by_user.public_id)
