"""SignedRequestMiddleware: webhooks and RFC 9421 through a real Starlette app."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from cryptorails.clock import Window
from cryptorails.httpsig import HttpMessage, SignatureKey, Verifier, content_digest, sign
from cryptorails.integrations import FailureLog, Verified
from cryptorails.integrations.asgi import SignedRequestMiddleware
from cryptorails.replay import ReplayGuard
from cryptorails.stores import Store
from cryptorails.testing import FixedClock
from cryptorails.webhooks import GitHubVerifier, StripeVerifier, WebhookSigner, WebhookVerifier

from .conftest import BODY, NOW, OTHER_SECRET, SECRET

UNAUTHORIZED = (
    401,
    [
        (b"content-type", b"application/json"),
        (b"content-length", b"24"),
        (b"cache-control", b"no-store"),
    ],
    b'{"error":"unauthorized"}',
)


class Seen:
    """The app behind the middleware: records what it received and echoes the body."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.state: list[Any] = []

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        self.bodies.append(body)
        self.state.append(getattr(request.state, "cryptorails", None))
        return Response(body, media_type="application/octet-stream")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/hooks/in", self.endpoint, methods=["POST"]),
                Route("/open", self.endpoint, methods=["POST"]),
                Route("/api/pay", self.endpoint, methods=["POST"]),
            ]
        )


def raw(response: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return response.status_code, list(response.headers.raw), response.content


def webhook_client(seen: Seen, verifier: Any, **kw: Any) -> TestClient:
    return TestClient(SignedRequestMiddleware(seen.app(), verifier, **kw))


def signed_headers(msg_id: str = "msg_1", when: Any = NOW, secret: str = SECRET) -> dict[str, str]:
    return WebhookSigner(secret).sign(msg_id, when, BODY)


def test_valid_webhook_reaches_app_with_exact_body(guard: ReplayGuard, clock: FixedClock) -> None:
    seen = Seen()
    client = webhook_client(seen, WebhookVerifier(SECRET, guard=guard, clock=clock))
    response = client.post("/hooks/in", content=BODY, headers=signed_headers())
    assert response.status_code == 200
    assert response.content == BODY
    assert seen.bodies == [BODY]
    assert seen.state == [Verified(BODY, None, "0:17:standard-webhooks0:")]


def test_body_streamed_in_chunks_is_reassembled(guard: ReplayGuard, clock: FixedClock) -> None:
    seen = Seen()
    client = webhook_client(seen, WebhookVerifier(SECRET, guard=guard, clock=clock))
    chunks = iter([BODY[:10], BODY[10:30], BODY[30:]])
    response = client.post("/hooks/in", content=chunks, headers=signed_headers())
    assert response.status_code == 200
    assert seen.bodies == [BODY]


def _failures(clock: FixedClock) -> dict[str, tuple[dict[str, str], bytes]]:
    good = signed_headers()
    return {
        "missing_header": ({}, BODY),
        "signature_invalid": (signed_headers("msg_2", secret=OTHER_SECRET), BODY),
        "tampered_body": (signed_headers("msg_3"), BODY + b" "),
        "stale": (signed_headers("msg_4", NOW - timedelta(minutes=6)), BODY),
        "future": (signed_headers("msg_5", NOW + timedelta(minutes=6)), BODY),
        "malformed": ({**good, "webhook-signature": "v1,@@@"}, BODY),
        "too_large": ({**good, "webhook-signature": "v1," + "A" * 5000}, BODY),
        "replay": (good, BODY),  # sent after the same message was accepted once
    }


def test_every_failure_is_the_same_401(
    guard: ReplayGuard, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    seen = Seen()
    client = webhook_client(seen, WebhookVerifier(SECRET, guard=guard, clock=clock), tenant="acme")
    assert client.post("/hooks/in", content=BODY, headers=signed_headers()).status_code == 200
    caplog.set_level(logging.INFO, logger="cryptorails.verify")
    responses = {
        name: raw(client.post("/hooks/in", content=body, headers=headers))
        for name, (headers, body) in _failures(clock).items()
    }
    for name, response in responses.items():
        assert response == UNAUTHORIZED, name
    assert seen.bodies == [BODY]  # the app never ran for a failure
    reasons = [r.reason for r in caplog.records if r.name == "cryptorails.verify"]
    assert reasons == [
        "missing_header",
        "signature_invalid",
        "signature_invalid",
        "stale",
        "future",
        "malformed",
        "too_large",
        "replay",
    ]


def test_failure_log_fields_and_no_secrets(
    guard: ReplayGuard, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cryptorails.verify")
    client = webhook_client(
        Seen(), WebhookVerifier(SECRET, guard=guard, clock=clock), tenant="acme"
    )
    headers = signed_headers("msg_secret_id", secret=OTHER_SECRET)
    assert client.post("/hooks/in", content=BODY, headers=headers).status_code == 401
    (record,) = [r for r in caplog.records if r.name == "cryptorails.verify"]
    assert record.levelno == logging.WARNING
    fields = {
        k: getattr(record, k)
        for k in ("event", "tenant", "key_id", "algorithm", "scheme", "reason")
    }
    assert fields == {
        "event": "verify_failed",
        "tenant": "acme",
        "key_id": None,
        "algorithm": "hmac-sha256",
        "scheme": "standard-webhooks",
        "reason": "signature_invalid",
    }
    # The message is the same event as one JSON line, whatever the handler's formatter.
    assert {**json.loads(record.getMessage()), **fields} == json.loads(record.getMessage())
    import cryptography

    assert record.cryptography == cryptography.__version__  # type: ignore[attr-defined]
    dump = repr(record.__dict__) + caplog.text
    signature = headers["webhook-signature"].split(",", 1)[1]
    for leaked in (signature, "msg_secret_id", BODY.decode(), "in_1", SECRET, OTHER_SECRET):
        assert leaked not in dump


def test_replay_across_two_instances_sharing_one_store(
    open_sqlite: Callable[[], Store], clock: FixedClock
) -> None:
    def instance() -> tuple[Seen, TestClient]:
        guard = ReplayGuard(open_sqlite(), Window(timedelta(minutes=5)), clock=clock)
        seen = Seen()
        return seen, webhook_client(seen, WebhookVerifier(SECRET, guard=guard, clock=clock))

    (seen_a, a), (seen_b, b) = instance(), instance()
    headers = signed_headers("msg_shared")
    assert a.post("/hooks/in", content=BODY, headers=headers).status_code == 200
    assert raw(b.post("/hooks/in", content=BODY, headers=headers)) == UNAUTHORIZED
    assert (seen_a.bodies, seen_b.bodies) == ([BODY], [])


@pytest.mark.parametrize("chunked", [False, True])
def test_oversize_body_is_413(guard: ReplayGuard, clock: FixedClock, chunked: bool) -> None:
    seen = Seen()
    client = webhook_client(
        seen, WebhookVerifier(SECRET, guard=guard, clock=clock), max_body_bytes=len(BODY) - 1
    )
    content: Any = iter([BODY[:20], BODY[20:]]) if chunked else BODY
    response = client.post("/hooks/in", content=content, headers=signed_headers())
    assert raw(response) == (
        413,
        [
            (b"content-type", b"application/json"),
            (b"content-length", b"29"),
            (b"cache-control", b"no-store"),
        ],
        b'{"error":"payload_too_large"}',
    )
    assert seen.bodies == []


def test_paths_limit_what_is_checked(guard: ReplayGuard, clock: FixedClock) -> None:
    seen = Seen()
    client = webhook_client(
        seen, WebhookVerifier(SECRET, guard=guard, clock=clock), paths=["/hooks"]
    )
    assert client.post("/open", content=b"x").status_code == 200
    assert client.post("/hooks/in", content=b"x").status_code == 401
    assert seen.bodies == [b"x"]


def test_stripe_and_github_verifiers(
    guard: ReplayGuard, clock: FixedClock, open_sqlite: Callable[[], Store]
) -> None:
    stripe_secret = "whsec_stripe_test_secret_value"
    t = str(int(NOW.timestamp()))
    tag = hmac.new(stripe_secret.encode(), f"{t}.".encode() + BODY, hashlib.sha256).hexdigest()
    client = webhook_client(Seen(), StripeVerifier(stripe_secret, guard=guard, clock=clock))
    ok = {"Stripe-Signature": f"t={t},v1={tag}"}
    assert client.post("/hooks/in", content=BODY, headers=ok).status_code == 200
    assert raw(client.post("/hooks/in", content=BODY, headers=ok)) == UNAUTHORIZED

    gh_secret = "github-webhook-secret-value"
    gh_tag = hmac.new(gh_secret.encode(), BODY, hashlib.sha256).hexdigest()
    # GitHub signs no timestamp: its guard must remember deliveries for a long time.
    long_guard = ReplayGuard(open_sqlite(), Window(timedelta(days=30)), clock=clock)
    client = webhook_client(Seen(), GitHubVerifier(gh_secret, long_guard, clock=clock))
    headers = {"X-Hub-Signature-256": f"sha256={gh_tag}", "X-GitHub-Delivery": "d-1"}
    assert client.post("/hooks/in", content=BODY, headers=headers).status_code == 200
    assert raw(client.post("/hooks/in", content=BODY, headers=headers)) == UNAUTHORIZED


# RFC 9421 ---------------------------------------------------------------------------

ED = ed25519.Ed25519PrivateKey.generate()
TRUSTED = {"client-1": SignatureKey("ed25519", ED.public_key())}
COMPONENTS = ["@method", "@target-uri", "content-digest"]


def httpsig_headers(
    uri: str = "http://testserver/api/pay?x=1", body: bytes = BODY, **kw: Any
) -> dict[str, str]:
    headers = {"content-type": "application/json", "content-digest": content_digest(body)}
    message = HttpMessage(method="POST", target_uri=uri, headers=tuple(headers.items()), body=body)
    kw.setdefault("created", NOW)
    kw.setdefault("nonce", "n-1")
    key = kw.pop("key", SignatureKey("ed25519", ED))
    kid = kw.pop("kid", "client-1")
    return {**headers, **sign(message, key, kid, COMPONENTS, **kw)}


def test_rfc9421_signed_request(
    guard: ReplayGuard, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cryptorails.verify")
    seen = Seen()
    client = webhook_client(seen, Verifier(TRUSTED, guard=guard, clock=clock), tenant="t1")
    headers = httpsig_headers()
    assert client.post("/api/pay?x=1", content=BODY, headers=headers).status_code == 200
    assert seen.bodies == [BODY]
    verified = seen.state[0]
    assert verified.signature.keyid == "client-1"
    assert verified.signature.components == tuple(COMPONENTS)

    other = ed25519.Ed25519PrivateKey.generate()
    failures = [
        ("/api/pay?x=1", headers, BODY),  # replayed nonce
        ("/api/pay?x=2", httpsig_headers(nonce="n-2"), BODY),  # another target than signed
        ("/api/pay?x=1", httpsig_headers(nonce="n-3"), BODY + b" "),  # body not the digest's
        ("/api/pay?x=1", httpsig_headers(nonce="n-4", key=SignatureKey("ed25519", other)), BODY),
        ("/api/pay?x=1", httpsig_headers(nonce="n-5", kid="attacker <script>"), BODY),
        ("/api/pay?x=1", {"content-type": "application/json"}, BODY),
    ]
    for path, failing, body in failures:
        assert raw(client.post(path, content=body, headers=failing)) == UNAUTHORIZED
    assert len(seen.bodies) == 1
    records = [r for r in caplog.records if r.name == "cryptorails.verify"]
    assert [(r.reason, r.key_id, r.algorithm) for r in records] == [  # type: ignore[attr-defined]
        ("replay", "client-1", "ed25519"),
        ("signature_invalid", "client-1", "ed25519"),
        ("digest_mismatch", "client-1", "ed25519"),
        ("signature_invalid", "client-1", "ed25519"),
        ("unknown_key", None, None),  # an untrusted keyid is attacker text: never logged
        ("missing_header", None, None),
    ]
    assert all(r.scheme == "rfc9421" and r.tenant == "t1" for r in records)  # type: ignore[attr-defined]
    assert "attacker" not in caplog.text + repr([r.__dict__ for r in records])


def test_rfc9421_origin_behind_a_proxy(guard: ReplayGuard, clock: FixedClock) -> None:
    seen = Seen()
    verifier = Verifier(TRUSTED, guard=guard, clock=clock)
    client = webhook_client(seen, verifier, origin="https://api.example")
    headers = httpsig_headers("https://api.example/api/pay?x=1")
    assert client.post("/api/pay?x=1", content=BODY, headers=headers).status_code == 200


def test_failure_log_is_rate_limited(
    guard: ReplayGuard, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cryptorails.verify")
    log = FailureLog(limit=2, period=timedelta(seconds=1), clock=clock)
    client = webhook_client(Seen(), WebhookVerifier(SECRET, guard=guard, clock=clock), logger=log)
    for _ in range(5):
        assert client.post("/hooks/in", content=BODY).status_code == 401
    assert len(caplog.records) == 2
    clock.advance(1.0)
    assert client.post("/hooks/in", content=BODY).status_code == 401
    assert [r.suppressed for r in caplog.records] == [0, 0, 3]  # type: ignore[attr-defined]


class _DownGuard:
    """A replay guard whose store is unreachable (an outage cannot be staged on a real
    SQLite file reliably)."""

    def check(self, namespace: str, message_id: str, timestamp: Any) -> None:
        from cryptorails.errors import StoreUnavailable

        raise StoreUnavailable("redis at 127.0.0.1:6379: connection refused")


def test_store_outage_is_503_and_fails_closed(
    clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cryptorails.verify")
    seen = Seen()
    client = webhook_client(seen, WebhookVerifier(SECRET, guard=_DownGuard(), clock=clock))
    response = client.post("/hooks/in", content=BODY, headers=signed_headers())
    assert (response.status_code, response.content) == (503, b'{"error":"unavailable"}')
    assert seen.bodies == []
    assert [r for r in caplog.records if r.name == "cryptorails.verify"] == []
    # Only a validly signed request reaches the store: a forgery is still the plain 401.
    forged = signed_headers(secret=OTHER_SECRET)
    assert raw(client.post("/hooks/in", content=BODY, headers=forged)) == UNAUTHORIZED
