"""Flask decorators: the same checks and responses as the ASGI middleware."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from flask import Flask, g, request

from cryptorails.clock import Window
from cryptorails.httpsig import HttpMessage, SignatureKey, Verifier, content_digest, sign
from cryptorails.integrations.flask import idempotent, signed_request
from cryptorails.replay import Idempotency, ReplayGuard
from cryptorails.stores import Store
from cryptorails.testing import FixedClock
from cryptorails.webhooks import WebhookSigner, WebhookVerifier

from .conftest import BODY, NOW, OTHER_SECRET, SECRET

UNAUTHORIZED = (
    401,
    [
        ("content-type", "application/json"),
        ("content-length", "24"),
        ("cache-control", "no-store"),
    ],
    b'{"error":"unauthorized"}',
)


def raw(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return response.status_code, [(k.lower(), v) for k, v in response.headers], response.data


class Service:
    def __init__(self, verifier: Any, idempotency: Idempotency | None = None, **kw: Any) -> None:
        self.bodies: list[bytes] = []
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        app = Flask(__name__)

        @app.post("/hooks")
        @signed_request(verifier, **kw)
        def hook() -> Any:
            self.bodies.append(request.get_data())
            return request.get_data(), 200, {"Content-Type": "application/octet-stream"}

        if idempotency is not None:

            @app.post("/orders")
            @idempotent(idempotency, authenticated=False)
            def orders() -> Any:
                self.calls += 1
                self.entered.set()
                assert self.release.wait(10)
                return {"order": self.calls}, 201, {"Location": f"/orders/{self.calls}"}

        self.app = app
        self.client = app.test_client()


def test_valid_webhook_and_failures(
    guard: ReplayGuard, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cryptorails.verify")
    service = Service(WebhookVerifier(SECRET, guard=guard, clock=clock), tenant="acme")
    good = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    response = service.client.post("/hooks", data=BODY, headers=good)
    assert (response.status_code, response.data) == (200, BODY)
    assert service.bodies == [BODY]
    failures = [
        ({}, BODY),
        (WebhookSigner(OTHER_SECRET).sign("msg_2", NOW, BODY), BODY),
        (WebhookSigner(SECRET).sign("msg_3", NOW - timedelta(hours=1), BODY), BODY),
        ({**good, "webhook-signature": "v1,@@"}, BODY),
        (good, BODY),
    ]
    for headers, body in failures:
        assert raw(service.client.post("/hooks", data=body, headers=headers)) == UNAUTHORIZED
    assert service.bodies == [BODY]
    assert [r.reason for r in caplog.records] == [  # type: ignore[attr-defined]
        "missing_header",
        "signature_invalid",
        "stale",
        "malformed",
        "replay",
    ]
    assert all(r.tenant == "acme" for r in caplog.records)  # type: ignore[attr-defined]
    assert BODY.decode() not in caplog.text


def test_replay_across_two_apps_sharing_one_store(
    open_sqlite: Callable[[], Store], clock: FixedClock
) -> None:
    def service() -> Service:
        guard = ReplayGuard(open_sqlite(), Window(timedelta(minutes=5)), clock=clock)
        return Service(WebhookVerifier(SECRET, guard=guard, clock=clock))

    a, b = service(), service()
    headers = WebhookSigner(SECRET).sign("msg_shared", NOW, BODY)
    assert a.client.post("/hooks", data=BODY, headers=headers).status_code == 200
    assert raw(b.client.post("/hooks", data=BODY, headers=headers)) == UNAUTHORIZED


def test_oversize_body_is_413(guard: ReplayGuard, clock: FixedClock) -> None:
    service = Service(WebhookVerifier(SECRET, guard=guard, clock=clock), max_body_bytes=10)
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    response = service.client.post("/hooks", data=BODY, headers=headers)
    assert (response.status_code, response.data) == (413, b'{"error":"payload_too_large"}')
    assert service.bodies == []


def test_rfc9421(guard: ReplayGuard, clock: FixedClock) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    verifier = Verifier(
        {"c1": SignatureKey("ed25519", private.public_key())}, guard=guard, clock=clock
    )
    service = Service(verifier)
    base = {"Content-Type": "application/json", "Content-Digest": content_digest(BODY)}
    message = HttpMessage(
        method="POST",
        target_uri="http://localhost/hooks?a=1",
        headers=tuple(base.items()),
        body=BODY,
    )
    signature = sign(
        message,
        SignatureKey("ed25519", private),
        "c1",
        ["@method", "@target-uri", "content-digest"],
        created=NOW,
        nonce="n1",
    )
    headers = {**base, **signature}
    response = service.client.post("/hooks?a=1", data=BODY, headers=headers)
    assert response.status_code == 200
    assert raw(service.client.post("/hooks?a=1", data=BODY, headers=headers)) == UNAUTHORIZED
    assert raw(service.client.post("/hooks?a=2", data=BODY, headers=headers)) == UNAUTHORIZED


def test_verified_result_on_g(guard: ReplayGuard, clock: FixedClock) -> None:
    app = Flask(__name__)
    seen: list[Any] = []

    @app.post("/h")
    @signed_request(WebhookVerifier(SECRET, guard=guard, clock=clock))
    def h() -> str:
        seen.append(g.cryptorails)
        return "ok"

    headers = WebhookSigner(SECRET).sign("msg_g", NOW, BODY)
    assert app.test_client().post("/h", data=BODY, headers=headers).status_code == 200
    assert seen[0].body == BODY


def test_idempotent_view(idempotency: Idempotency, guard: ReplayGuard, clock: FixedClock) -> None:
    service = Service(WebhookVerifier(SECRET, guard=guard, clock=clock), idempotency)
    client = service.client
    key = {"Idempotency-Key": "k1"}
    first = client.post("/orders", data=b"a", headers=key)
    again = client.post("/orders", data=b"a", headers=key)
    assert (first.status_code, first.json) == (201, {"order": 1})
    assert (again.status_code, again.data) == (201, first.data)
    assert again.headers["Location"] == "/orders/1"
    assert again.headers["Content-Type"] == "application/json"
    assert service.calls == 1
    assert client.post("/orders", data=b"b", headers=key).status_code == 422
    missing = client.post("/orders", data=b"a")
    assert (missing.status_code, missing.data) == (400, b'{"error":"idempotency_key_missing"}')

    service.release.clear()
    service.entered.clear()
    results: list[Any] = []
    worker = threading.Thread(
        target=lambda: results.append(
            client.post("/orders", data=b"c", headers={"Idempotency-Key": "k2"})
        )
    )
    worker.start()
    try:
        assert service.entered.wait(10)
        busy = client.post("/orders", data=b"c", headers={"Idempotency-Key": "k2"})
        assert (busy.status_code, busy.data) == (409, b'{"error":"idempotency_key_in_flight"}')
    finally:
        service.release.set()
        worker.join(10)
    assert results[0].status_code == 201
    assert service.calls == 2
