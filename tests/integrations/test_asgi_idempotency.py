"""IdempotencyMiddleware: the IETF Idempotency-Key semantics on a real SQLite store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from cryptorails.integrations import StoredResponse
from cryptorails.integrations.asgi import IdempotencyMiddleware, SignedRequestMiddleware
from cryptorails.replay import Idempotency
from cryptorails.stores import Store
from cryptorails.testing import FixedClock
from cryptorails.webhooks import WebhookSigner, WebhookVerifier

from .conftest import BODY, NOW, OTHER_SECRET, SECRET


class Orders:
    """A handler with a visible side effect (a counter) and an optional hold."""

    def __init__(self) -> None:
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def create(self, request: Request) -> Response:
        # Sync endpoint: Starlette runs it in a thread, so waiting here blocks only it.
        self.calls += 1
        self.entered.set()
        assert self.release.wait(10)
        return JSONResponse(
            {"order": self.calls},
            status_code=201,
            headers={"Location": f"/orders/{self.calls}", "Set-Cookie": "session=abc"},
        )

    async def fail(self, request: Request) -> Response:
        self.calls += 1
        raise RuntimeError("handler failed")

    async def echo(self, request: Request) -> Response:
        self.calls += 1
        return Response(await request.body(), status_code=202)

    def client(self, idempotency: Idempotency, **kw: Any) -> TestClient:
        app = Starlette(
            routes=[
                Route("/orders", self.create, methods=["POST", "GET"]),
                Route("/fail", self.fail, methods=["POST"]),
                Route("/echo", self.echo, methods=["POST", "PATCH"]),
            ]
        )
        # These tests are about idempotency itself; authentication is tested below.
        kw.setdefault("authenticated", False)
        return TestClient(
            IdempotencyMiddleware(app, idempotency, **kw), raise_server_exceptions=False
        )


def test_first_call_runs_once_and_repeat_replays(idempotency: Idempotency) -> None:
    orders = Orders()
    client = orders.client(idempotency)
    key = {"Idempotency-Key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"'}
    first = client.post("/orders", content=b'{"item":1}', headers=key)
    assert first.status_code == 201
    assert first.json() == {"order": 1}
    assert first.headers["set-cookie"] == "session=abc"  # the first response goes out whole
    again = client.post("/orders", content=b'{"item":1}', headers=key)
    assert orders.calls == 1
    assert (again.status_code, again.content) == (201, first.content)
    assert list(again.headers.raw) == [
        (b"location", b"/orders/1"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(first.content)).encode()),
    ]
    assert "set-cookie" not in again.headers  # per-client state is never replayed


def test_replay_across_two_instances(open_sqlite: Callable[[], Store]) -> None:
    orders = Orders()
    a = orders.client(Idempotency(open_sqlite()))
    b = orders.client(Idempotency(open_sqlite()))
    key = {"Idempotency-Key": "k-shared"}
    assert a.post("/orders", content=b"x", headers=key).json() == {"order": 1}
    assert b.post("/orders", content=b"x", headers=key).json() == {"order": 1}
    assert orders.calls == 1


def test_concurrent_request_gets_409(idempotency: Idempotency) -> None:
    orders = Orders()
    orders.release.clear()
    client = orders.client(idempotency)
    key = {"Idempotency-Key": "k-busy"}
    results: list[Any] = []
    first = threading.Thread(
        target=lambda: results.append(client.post("/orders", content=b"x", headers=key))
    )
    first.start()
    try:
        assert orders.entered.wait(10)
        busy = client.post("/orders", content=b"x", headers=key)
        assert (busy.status_code, busy.content) == (409, b'{"error":"idempotency_key_in_flight"}')
        other = client.post("/orders", content=b"y", headers=key)
        assert other.status_code == 422  # another payload under a held key
    finally:
        orders.release.set()
        first.join(10)
    assert results[0].status_code == 201
    assert client.post("/orders", content=b"x", headers=key).json() == {"order": 1}
    assert orders.calls == 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/echo", b"other"), ("PATCH", "/echo", b"same"), ("POST", "/echo?x=1", b"same")],
)
def test_key_reused_with_another_request_is_422(
    idempotency: Idempotency, method: str, path: str, body: bytes
) -> None:
    orders = Orders()
    client = orders.client(idempotency)
    key = {"Idempotency-Key": "k-reuse"}
    assert client.post("/echo", content=b"same", headers=key).status_code == 202
    response = client.request(method, path, content=body, headers=key)
    assert (response.status_code, response.content) == (422, b'{"error":"idempotency_key_reused"}')
    assert orders.calls == 1


def test_missing_key_is_400_when_required(idempotency: Idempotency) -> None:
    orders = Orders()
    response = orders.client(idempotency).post("/echo", content=b"x")
    assert (response.status_code, response.content) == (400, b'{"error":"idempotency_key_missing"}')
    assert response.headers["content-type"] == "application/json"
    assert orders.calls == 0
    optional = orders.client(idempotency, require=False)
    assert optional.post("/echo", content=b"x").status_code == 202
    assert optional.post("/echo", content=b"x").status_code == 202
    assert orders.calls == 2  # no key, no idempotency


@pytest.mark.parametrize(
    "values",
    [
        [("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
        [("Idempotency-Key", "")],
        [("Idempotency-Key", '"unterminated')],
        [("Idempotency-Key", "x" * 256)],
    ],
)
def test_malformed_key_is_400(idempotency: Idempotency, values: list[tuple[str, str]]) -> None:
    orders = Orders()
    response = orders.client(idempotency).post("/echo", content=b"x", headers=values)
    assert (response.status_code, response.content) == (400, b'{"error":"idempotency_key_invalid"}')
    assert orders.calls == 0


def test_other_methods_pass_through(idempotency: Idempotency) -> None:
    orders = Orders()
    client = orders.client(idempotency)
    assert client.get("/orders").status_code == 201
    assert client.get("/orders").json() == {"order": 2}


def test_failing_handler_stores_nothing(idempotency: Idempotency) -> None:
    orders = Orders()
    client = orders.client(idempotency)
    key = {"Idempotency-Key": "k-fail"}
    assert client.post("/fail", content=b"x", headers=key).status_code == 500
    assert client.post("/fail", content=b"x", headers=key).status_code == 500
    assert orders.calls == 2  # the key was released: the retry ran again


def test_oversize_body_is_413(idempotency: Idempotency) -> None:
    orders = Orders()
    client = orders.client(idempotency, max_body_bytes=4)
    response = client.post("/echo", content=b"12345", headers={"Idempotency-Key": "k"})
    assert response.status_code == 413
    assert orders.calls == 0


def test_stored_response_round_trip() -> None:
    stored = StoredResponse.keep(
        201, [("Location", "/o/1"), ("Set-Cookie", "s=1"), ("Content-Type", "text/plain")], b"ok"
    )
    assert stored.headers == (("location", "/o/1"), ("content-type", "text/plain"))
    assert StoredResponse.from_bytes(stored.to_bytes()) == stored


# -- idempotency needs an authenticated principal ------------------------------------


def _signed(secret: str, msg_id: str, key: str) -> dict[str, str]:

    from .conftest import BODY

    return {**WebhookSigner(secret).sign(msg_id, NOW, BODY), "Idempotency-Key": key}


def _stack(idempotency: Idempotency, secret: str, tenant: str, clock: FixedClock) -> TestClient:
    """Signature check outside, idempotency inside: the supported order."""
    orders = Orders()
    app = Starlette(routes=[Route("/orders", orders.create, methods=["POST"])])
    inner = IdempotencyMiddleware(app, idempotency)
    verifier = WebhookVerifier(secret, clock=clock)
    return TestClient(SignedRequestMiddleware(inner, verifier, tenant=tenant))


def test_unverified_request_is_refused_by_default(
    idempotency: Idempotency, caplog: pytest.LogCaptureFixture
) -> None:
    orders = Orders()
    app = Starlette(routes=[Route("/orders", orders.create, methods=["POST"])])
    client = TestClient(IdempotencyMiddleware(app, idempotency))
    response = client.post("/orders", content=b"{}", headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 401
    assert response.content == b'{"error":"unauthorized"}'
    assert orders.calls == 0
    assert "without a verified request" in caplog.text


def test_misordered_stack_never_serves_stored_responses_to_unsigned_clients(
    idempotency: Idempotency, clock: FixedClock
) -> None:
    # Idempotency outside the signature check (the order FastAPI's add_middleware gives
    # when the two are added in reading order): it must refuse rather than replay.
    from .conftest import BODY, SECRET

    orders = Orders()
    app = Starlette(routes=[Route("/orders", orders.create, methods=["POST"])])
    signed_inside = SignedRequestMiddleware(app, WebhookVerifier(SECRET, clock=clock))
    client = TestClient(IdempotencyMiddleware(signed_inside, idempotency))
    signed = client.post("/orders", content=BODY, headers=_signed(SECRET, "msg_1", "k-9"))
    assert signed.status_code == 401  # misordered: refused outright, nothing stored
    unsigned = client.post("/orders", content=BODY, headers={"Idempotency-Key": "k-9"})
    assert unsigned.status_code == 401
    assert orders.calls == 0


def test_keys_are_scoped_to_the_signer(idempotency: Idempotency, clock: FixedClock) -> None:
    acme = _stack(idempotency, SECRET, "acme", clock)
    globex = _stack(idempotency, OTHER_SECRET, "globex", clock)
    first = acme.post("/orders", content=BODY, headers=_signed(SECRET, "msg_1", "same-key"))
    assert first.status_code == 201
    # The same key from another signer is its own record: it runs, and never sees
    # acme's stored response (nor a 422 telling it the key is in use).
    other = globex.post("/orders", content=BODY, headers=_signed(OTHER_SECRET, "msg_2", "same-key"))
    assert other.status_code == 201
    assert other.json() == {"order": 1}  # globex's own handler ran once
    again = acme.post("/orders", content=BODY, headers=_signed(SECRET, "msg_3", "same-key"))
    assert again.status_code == 201
    assert again.json() == first.json()  # acme's stored response, replayed
