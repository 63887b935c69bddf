# expect: none
"""Authorisation helpers: roles, scopes and route prefixes are not secrets."""

from flask import abort, g, request

ADMIN_PREFIXES = ("/admin/", "/internal/")


def require_scope(scope: str) -> None:
    granted = set(g.token_claims.get("scope", "").split())
    if scope not in granted:
        abort(403)


def check_route_access() -> None:
    user = g.user
    if request.path.startswith(ADMIN_PREFIXES) and "admin" not in user.roles:
        abort(403)
    if request.view_args and request.view_args.get("owner") not in (None, user.public_id):
        abort(404)


def same_account(order, user) -> bool:
    return order.customer_public_id == user.public_id
