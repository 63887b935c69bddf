"""Flask view decorators: signed requests and idempotency.

Decorators rather than an extension, because protection belongs to a view (a webhook
endpoint), not to a whole app. Stack them with the signature check outermost, so that
only authenticated requests reach the idempotency store::

    @app.post("/webhooks")
    @signed_request(verifier, tenant="acme")
    @idempotent(idempotency)
    def webhook() -> ...:
        event = request.get_data()           # the verified bytes
        signature = g.cryptorails.signature  # RFC 9421 only

Failures give the same responses as the ASGI middleware (`cryptorails.integrations.asgi`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import ParamSpec
from urllib.parse import quote

from flask import Response, g, make_response, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from cryptorails.errors import IdempotencyInFlight, IdempotencyKeyReused, StoreUnavailable
from cryptorails.httpsig import Verifier
from cryptorails.integrations._failures import FailureLog
from cryptorails.integrations._responses import (
    DEFAULT_MAX_BODY_BYTES,
    KEY_IN_FLIGHT,
    KEY_INVALID,
    KEY_MISSING,
    KEY_REUSED,
    PAYLOAD_TOO_LARGE,
    STORED_HEADERS,
    UNAUTHORIZED,
    UNAVAILABLE,
    ErrorResponse,
    StoredResponse,
    fingerprint,
    parse_idempotency_key,
    scoped_key,
)
from cryptorails.integrations._verify import RequestCheck, WebhookCheck, principal_of
from cryptorails.replay import Idempotency

__all__ = ["idempotent", "signed_request"]

P = ParamSpec("P")
View = Callable[P, ResponseReturnValue]


def _error(response: ErrorResponse) -> Response:
    # Built from the raw header list (Content-Length included) so that every failure is
    # the same bytes; Flask does not reorder or add to an explicit header list.
    return Response(response.body, status=response.status, headers=list(response.headers))


def _body(limit: int) -> bytes | None:
    """The request body, or None when it exceeds `limit` (read at most `limit` bytes)."""
    current = request.max_content_length
    request.max_content_length = limit if current is None else min(current, limit)
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        return None


def _target_uri(origin: str | None) -> str:
    environ = request.environ
    # REQUEST_URI/RAW_URI (gunicorn, the dev server) keep the path as sent; PATH_INFO is
    # already decoded, so it is re-quoted as a fallback.
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if not isinstance(raw, str) or not raw.startswith("/"):
        path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
        query = environ.get("QUERY_STRING", "")
        raw = path + (f"?{query}" if query else "")
    if origin is None:
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "localhost")
        origin = f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
    return origin.rstrip("/") + raw


def signed_request(
    verifier: WebhookCheck | Verifier,
    *,
    logger: FailureLog | logging.Logger | None = None,
    tenant: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    origin: str | None = None,
) -> Callable[[View[P]], Callable[P, ResponseReturnValue]]:
    """Verify the request before the view runs (same arguments as
    `asgi.SignedRequestMiddleware`, without `app` and `paths`).

    Every failure returns the same 401 response; the reason goes to the rate-limited
    ``verify_failed`` log event. On success ``g.cryptorails`` holds a `Verified` and
    ``request.get_data()`` returns the verified bytes.
    """
    check = RequestCheck(verifier, tenant=tenant, logger=logger)

    def decorate(view: View[P]) -> Callable[P, ResponseReturnValue]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            body = _body(max_body_bytes)
            if body is None:
                return _error(PAYLOAD_TOO_LARGE)
            headers = list(request.headers.items())
            outcome = check.check(request.method, _target_uri(origin), headers, body)
            if isinstance(outcome, ErrorResponse):
                return _error(outcome)
            g.cryptorails = outcome
            return view(*args, **kwargs)

        return wrapper

    return decorate


def idempotent(
    idempotency: Idempotency,
    *,
    required_methods: Iterable[str] = ("POST", "PATCH"),
    header: str = "Idempotency-Key",
    require: bool = True,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    stored_headers: Iterable[str] = STORED_HEADERS,
    authenticated: bool = True,
) -> Callable[[View[P]], Callable[P, ResponseReturnValue]]:
    """Run the view once per ``Idempotency-Key`` and replay its response (same semantics
    and arguments as `asgi.IdempotencyMiddleware`, without `app`).

    With ``authenticated=True`` (the default) stack it *under* `signed_request`
    (``@signed_request(...)`` above ``@idempotent(...)``): keys are scoped to the
    verified principal, and an unverified request gets the uniform 401."""
    if not isinstance(idempotency, Idempotency):
        raise TypeError("idempotency must be a cryptorails.replay.Idempotency")
    methods = frozenset(m.upper() for m in required_methods)
    kept = frozenset(h.lower() for h in stored_headers)

    def decorate(view: View[P]) -> Callable[P, ResponseReturnValue]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            if request.method not in methods:
                return view(*args, **kwargs)
            principal = principal_of(g.get("cryptorails"), authenticated)
            if principal is None:
                return _error(UNAUTHORIZED)
            try:
                key = parse_idempotency_key(request.headers.getlist(header))
            except ValueError:
                return _error(KEY_INVALID)
            if key is None:
                return _error(KEY_MISSING) if require else view(*args, **kwargs)
            body = _body(max_body_bytes)
            if body is None:
                return _error(PAYLOAD_TOO_LARGE)
            query = request.query_string.decode("latin-1")
            target = request.path + (f"?{query}" if query else "")
            produced: list[Response] = []

            def work() -> bytes:
                response = make_response(view(*args, **kwargs))
                produced.append(response)
                return StoredResponse.keep(
                    response.status_code,
                    response.headers.items(),
                    response.get_data(),
                    kept,
                ).to_bytes()

            try:
                record = idempotency.run(
                    scoped_key(principal, key), fingerprint(request.method, target, body), work
                )
            except IdempotencyInFlight:
                return _error(KEY_IN_FLIGHT)
            except IdempotencyKeyReused:
                return _error(KEY_REUSED)
            except StoreUnavailable:
                return _error(UNAVAILABLE)
            if produced:
                return produced[0]
            stored = StoredResponse.from_bytes(record)
            return Response(stored.body, status=stored.status, headers=stored.header_list())

        return wrapper

    return decorate
