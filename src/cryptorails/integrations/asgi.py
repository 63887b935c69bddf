"""ASGI middleware (Starlette, FastAPI, any ASGI app): signed requests and idempotency.

Both are plain ASGI middleware classes: wrap an app with them directly, or pass them to
Starlette's ``Middleware(...)``/FastAPI's ``app.add_middleware(...)``. Put
`SignedRequestMiddleware` outside `IdempotencyMiddleware`, so that only authenticated
requests reach the idempotency store::

    app = SignedRequestMiddleware(IdempotencyMiddleware(app, idem), verifier, tenant="acme")

Both read the whole body (bounded by `max_body_bytes`, else 413) and hand the same bytes
on to the app. Store and verifier calls block, so they run in a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

__all__ = ["IdempotencyMiddleware", "SignedRequestMiddleware"]

STATE_KEY = "cryptorails"


class _TooLargeError(Exception):
    pass


class _ClientGoneError(Exception):
    pass


def _header_lines(scope: Scope) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in scope.get("headers", [])]


async def _body_or_reply(scope: Scope, receive: Receive, send: Send, limit: int) -> bytes | None:
    """The request body; or None after answering 413 (too large) or when the client left."""
    try:
        return await _read_body(scope, receive, limit)
    except _TooLargeError:
        await _send_error(send, PAYLOAD_TOO_LARGE)
    except _ClientGoneError:
        pass
    return None


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, refusing more than `limit` bytes before buffering them."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length" and value.strip().isdigit() and int(value) > limit:
            raise _TooLargeError
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGoneError
        if message["type"] != "http.request":
            continue
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that yields the already-read body once, then defers to the server
    (for ``http.disconnect``)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_parts(
    send: Send, status: int, headers: Iterable[tuple[str, str]], body: bytes
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_error(send: Send, response: ErrorResponse) -> None:
    await _send_parts(send, response.status, response.headers, response.body)


def _target_uri(scope: Scope, origin: str | None) -> str:
    """The absolute target URI (RFC 9110 §7.1) the client addressed, path as on the wire."""
    raw_path = scope.get("raw_path")
    path = (
        raw_path.decode("latin-1")
        if isinstance(raw_path, bytes)
        else quote(scope.get("path", "/"), safe="/:@!$&'()*+,;=-._~%")
    )
    query = scope.get("query_string", b"").decode("latin-1")
    if origin is None:
        hosts = [v for n, v in scope.get("headers", []) if n.lower() == b"host"]
        if len(hosts) == 1:
            authority = hosts[0].decode("latin-1")
        else:
            host, port = scope.get("server") or ("localhost", None)
            authority = host if port is None else f"{host}:{port}"
        origin = f"{scope.get('scheme', 'http')}://{authority}"
    return origin + path + (f"?{query}" if query else "")


class SignedRequestMiddleware:
    """Verifies every request under `paths` before the app sees it.

    With a webhook verifier (Standard Webhooks, Stripe, Slack, GitHub) the headers and
    body are checked; with an RFC 9421 `httpsig.Verifier` the method, target URI,
    headers and body form the message. A request that fails, for whatever reason, gets
    the same 401 response byte for byte; the reason goes to the rate-limited
    ``verify_failed`` log event. A request that passes reaches the app with the same
    body, and ``request.state.cryptorails`` (scope ``state``) holds a `Verified`.

    Args:
        app: the ASGI app to protect.
        verifier: a webhook verifier or an `httpsig.Verifier`.
        paths: path prefixes to protect (a prefix covers itself and everything below
            it); None protects every HTTP and WebSocket request.
        logger: a `FailureLog`, or a `logging.Logger` to wrap in one.
        tenant: the tenant named in log events.
        max_body_bytes: larger bodies are refused with 413 before verification.
        origin: ``scheme://authority`` as the signer saw it, when a proxy in front
            changes them (RFC 9421 only); default: from the scope and ``Host``.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: WebhookCheck | Verifier,
        *,
        paths: Iterable[str] | None = None,
        logger: FailureLog | logging.Logger | None = None,
        tenant: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        origin: str | None = None,
    ) -> None:
        if max_body_bytes < 0:
            raise ValueError("max_body_bytes must not be negative")
        self.app = app
        self._check = RequestCheck(verifier, tenant=tenant, logger=logger)
        self._prefixes = None if paths is None else tuple(p.rstrip("/") for p in paths)
        self._limit = max_body_bytes
        self._origin = origin.rstrip("/") if origin is not None else None

    def _protects(self, path: str) -> bool:
        if self._prefixes is None:
            return True
        return any(path == p or path.startswith(p + "/") or not p for p in self._prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self._protects(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # A WebSocket handshake carries no signed body; refuse it on protected paths
            # (a close before accept is answered with HTTP 403 by the server).
            await send({"type": "websocket.close", "code": 1008})
            return
        body = await _body_or_reply(scope, receive, send, self._limit)
        if body is None:
            return
        outcome = await anyio.to_thread.run_sync(
            self._check.check,
            scope["method"],
            _target_uri(scope, self._origin),
            _header_lines(scope),
            body,
        )
        if isinstance(outcome, ErrorResponse):
            await _send_error(send, outcome)
            return
        scope.setdefault("state", {})[STATE_KEY] = outcome
        await self.app(scope, _replaying(outcome.body, receive), send)


@dataclass
class _Captured:
    status: int = 500
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)


class IdempotencyMiddleware:
    """IETF ``Idempotency-Key`` semantics (draft-ietf-httpapi-idempotency-key-header).

    For `required_methods`, the first request with a key runs the app once and its
    response (status, the `stored_headers`, body) is stored in `idempotency`'s store;
    a repeat with the same key and the same request gets the stored response without
    running the app again. Otherwise:

    - no key: 400 when `require` (else the request passes without idempotency);
    - the first request with that key still running: 409;
    - the key used before for another request (method, path with query, body): 422;
    - the store unreachable: 503.

    If the app raises, nothing is stored and a retry runs it again.

    By default the request must have passed `SignedRequestMiddleware` first (put this
    middleware *inside* it — with Starlette/FastAPI ``add_middleware``, add this one
    first), and keys are scoped to the verified principal: an unauthenticated client can
    neither read a stored response nor block a key. A request that reaches this
    middleware unverified gets the uniform 401 (and an error is logged: the stack is
    misordered). Pass ``authenticated=False`` only for endpoints that are
    authenticated by other means; keys are then global to the store's namespace.

    Args:
        app: the ASGI app.
        idempotency: an `Idempotency` on a store shared by every instance.
        required_methods: the methods idempotency applies to; others pass through.
        header: the request header carrying the key.
        require: whether a missing key is refused.
        max_body_bytes: larger bodies are refused with 413.
        stored_headers: response header names (lowercase) kept and replayed.
        authenticated: require a `Verified` request and scope keys to its principal.
    """

    def __init__(
        self,
        app: ASGIApp,
        idempotency: Idempotency,
        *,
        required_methods: Iterable[str] = ("POST", "PATCH"),
        header: str = "Idempotency-Key",
        require: bool = True,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        stored_headers: Iterable[str] = STORED_HEADERS,
        authenticated: bool = True,
    ) -> None:
        if not isinstance(idempotency, Idempotency):
            raise TypeError("idempotency must be a cryptorails.replay.Idempotency")
        self.app = app
        self._idempotency = idempotency
        self._methods = frozenset(m.upper() for m in required_methods)
        self._header = header.lower().encode("latin-1")
        self._require = require
        self._limit = max_body_bytes
        self._stored = frozenset(h.lower() for h in stored_headers)
        self._authenticated = authenticated

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in self._methods:
            await self.app(scope, receive, send)
            return
        principal = principal_of(scope.get("state", {}).get(STATE_KEY), self._authenticated)
        if principal is None:
            await _send_error(send, UNAUTHORIZED)
            return
        values = [
            v.decode("latin-1") for n, v in scope.get("headers", []) if n.lower() == self._header
        ]
        try:
            key = parse_idempotency_key(values)
        except ValueError:
            await _send_error(send, KEY_INVALID)
            return
        if key is None:
            if self._require:
                await _send_error(send, KEY_MISSING)
            else:
                await self.app(scope, receive, send)
            return
        body = await _body_or_reply(scope, receive, send, self._limit)
        if body is None:
            return
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        request_fp = fingerprint(scope["method"], target, body)
        captured: list[_Captured] = []

        def work() -> bytes:
            # Runs in a worker thread (inside Idempotency.run); the app runs on the loop.
            response = anyio.from_thread.run(self._capture, scope, body, receive)
            captured.append(response)
            return StoredResponse.keep(
                response.status, response.headers, b"".join(response.chunks), self._stored
            ).to_bytes()

        try:
            record = await anyio.to_thread.run_sync(
                self._idempotency.run, scoped_key(principal, key), request_fp, work
            )
        except IdempotencyInFlight:
            await _send_error(send, KEY_IN_FLIGHT)
            return
        except IdempotencyKeyReused:
            await _send_error(send, KEY_REUSED)
            return
        except StoreUnavailable:
            await _send_error(send, UNAVAILABLE)
            return
        if captured:  # this request ran the app: send its response as produced
            first = captured[0]
            await _send_parts(send, first.status, first.headers, b"".join(first.chunks))
            return
        stored = StoredResponse.from_bytes(record)
        await _send_parts(send, stored.status, stored.header_list(), stored.body)

    async def _capture(self, scope: Scope, body: bytes, receive: Receive) -> _Captured:
        response = _Captured()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.status = int(message["status"])
                response.headers = [
                    (n.decode("latin-1"), v.decode("latin-1")) for n, v in message["headers"]
                ]
            elif message["type"] == "http.response.body":
                response.chunks.append(bytes(message.get("body", b"")))

        await self.app(scope, _replaying(body, receive), capture)
        return response
