"""Canonicalization rules (CR0301, CR0302): shapes the fixtures do not show, and the traps
that must stay quiet."""

from __future__ import annotations

from textwrap import dedent

from .conftest import run


def lines(source: str, code: str) -> list[int]:
    return [f.line for f in run(dedent(source), code)]


# -- CR0301 mac-over-reserialized-data --------------------------------------------------

VERIFY_THROUGH_PARAMETER = """
    import hashlib, hmac, json

    SECRET = b"0123456789abcdef0123456789abcdef"

    def valid(body: bytes, sig: str) -> bool:
        expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, sig)

    def handler(request):
        event = json.loads(request.body)
        if not valid(json.dumps(event).encode(), request.headers["X-Sig"]):
            raise PermissionError
        return event
"""


def test_reserialization_passed_to_a_verifier_is_found() -> None:
    [finding] = run(dedent(VERIFY_THROUGH_PARAMETER), "CR0301")
    assert (finding.line, finding.column) == (12, 18)
    assert finding.message == (
        "the signature is checked over dumps() of `event`, not the bytes that were received"
    )


def test_hmac_update_over_str_of_parsed_json() -> None:
    source = """
        import hmac, hashlib, json

        def verify_callback(raw, signature, secret):
            mac = hmac.new(secret, digestmod=hashlib.sha256)
            mac.update(str(json.loads(raw)).encode())
            return hmac.compare_digest(mac.hexdigest(), signature)
    """
    assert lines(source, "CR0301") == [6]


SAFE_CANONICAL = """
    import hashlib, hmac, json
    import rfc8785
    from cryptorails import canonical

    SECRET = b"0123456789abcdef0123456789abcdef"

    def sign(payload: dict) -> str:
        return hmac.new(SECRET, json.dumps(payload).encode(), hashlib.sha256).hexdigest()

    def verify_raw(body: bytes, sig: str) -> bool:
        return hmac.compare_digest(hmac.new(SECRET, body, hashlib.sha256).hexdigest(), sig)

    def verify_strict(body: bytes, sig: str) -> bool:
        doc = canonical.loads(body)
        expected = hmac.new(SECRET, canonical.dumps(doc), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, sig)

    def verify_jcs(receipt: dict, sig: bytes, public_key) -> None:
        public_key.verify(sig, rfc8785.dumps(receipt))

    def outgoing(url, payload, session):
        body = json.dumps(payload).encode()
        return session.post(url, data=body, headers={"X-Sig": sign(payload)})
"""


def test_canonical_traps_stay_quiet() -> None:
    assert lines(SAFE_CANONICAL, "CR0301") == []


# -- CR0302 verify-then-reparse ---------------------------------------------------------

FASTAPI_MODEL = """
    import hashlib, hmac
    from fastapi import FastAPI, Request
    from pydantic import BaseModel

    app = FastAPI()
    SECRET = b"0123456789abcdef0123456789abcdef"

    class Event(BaseModel):
        id: str
        amount: int

    @app.post("/hooks")
    async def hooks(request: Request, event: Event):
        body = await request.body()
        expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers["x-signature"]):
            return {"ok": False}
        return {"amount": event.amount}
"""


def test_framework_parsed_model_is_found() -> None:
    [finding] = run(dedent(FASTAPI_MODEL), "CR0302")
    assert finding.line == 19
    assert finding.message == (
        "the raw body is verified, but `event` (Event) was parsed by the framework from a "
        "separate read"
    )


def test_aiohttp_post_after_read() -> None:
    source = """
        import hashlib, hmac

        async def hook(request, secret):
            raw = await request.read()
            if not hmac.compare_digest(
                hmac.new(secret, raw, hashlib.sha256).hexdigest(), request.headers["X-Sig"]
            ):
                return None
            form = await request.post()
            return form["amount"]
    """
    assert lines(source, "CR0302") == [10]


SAFE_REPARSE = """
    import hashlib, hmac, json
    from flask import request

    SECRET = b"0123456789abcdef0123456789abcdef"

    def hook_headers_only():
        body = request.get_data()
        if not hmac.compare_digest(
            hmac.new(SECRET, body, hashlib.sha256).hexdigest(), request.headers["X-Sig"]
        ):
            return "", 401
        event_type = request.headers.get("X-Event")
        return json.loads(body), event_type

    def unverified_endpoint():
        return request.get_json()

    async def model_from_verified(request, Event):
        body = await request.body()
        if not hmac.compare_digest(
            hmac.new(SECRET, body, hashlib.sha256).hexdigest(), request.headers["x-sig"]
        ):
            return None
        return Event.model_validate_json(body)
"""


def test_reparse_traps_stay_quiet() -> None:
    assert lines(SAFE_REPARSE, "CR0302") == []
