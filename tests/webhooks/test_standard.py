"""Standard Webhooks: signing, verification, rotation, limits, replay, interop."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import standardwebhooks
from cryptography.hazmat.primitives.asymmetric import ed25519

from cryptorails.errors import Reason, VerificationError
from cryptorails.secret import Secret
from cryptorails.testing import FixedClock
from cryptorails.webhooks import WebhookSigner, WebhookVerifier, parse_verifying_key

from .conftest import NOW

BODY = b'{"type":"contact.created","data":{"id":"1f81eb52"}}'
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER = "whsec_" + base64.b64encode(bytes(range(32, 64))).decode()


def _fails(reason: Reason, fn: Any, *args: Any) -> None:
    with pytest.raises(VerificationError) as info:
        fn(*args)
    assert str(info.value) == "verification failed"
    assert info.value.reason is reason


def _whsk(private: ed25519.Ed25519PrivateKey) -> str:
    return "whsk_" + base64.b64encode(private.private_bytes_raw()).decode()


def _whpk(private: ed25519.Ed25519PrivateKey) -> str:
    return "whpk_" + base64.b64encode(private.public_key().public_bytes_raw()).decode()


def test_v1_round_trip(clock: FixedClock) -> None:
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert WebhookVerifier(SECRET, clock=clock).verify(headers, BODY) == BODY


def test_spec_example_signature() -> None:
    # The spec's example: id, timestamp and signature over a JSON body with this secret.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    when = datetime.fromtimestamp(1614265330, UTC)
    headers = WebhookSigner(secret).sign("msg_p5jXN8AQM9LWM0D4loKWxJek", when, body)
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_header_names_are_case_insensitive(clock: FixedClock) -> None:
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    upper = {k.upper(): v for k, v in headers.items()}
    assert WebhookVerifier(SECRET, clock=clock).verify(upper, BODY) == BODY


def test_same_name_twice_in_different_case_is_refused(clock: FixedClock) -> None:
    headers: dict[str, str] = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    headers["Webhook-Id"] = "msg_2"
    _fails(Reason.MALFORMED, WebhookVerifier(SECRET, clock=clock).verify, headers, BODY)


def test_v1a_round_trip_and_key_formats(clock: FixedClock) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    headers = WebhookSigner(_whsk(private)).sign("msg_1", NOW, BODY)
    assert headers["webhook-signature"].startswith("v1a,")
    for trusted in (_whpk(private), private.public_key(), _whsk(private)):
        assert WebhookVerifier(trusted, clock=clock).verify(headers, BODY) == BODY
    # libsodium's 64-byte form (seed || public key) is accepted too.
    long = private.private_bytes_raw() + private.public_key().public_bytes_raw()
    signer = WebhookSigner("whsk_" + base64.b64encode(long).decode())
    assert (
        WebhookVerifier(_whpk(private), clock=clock).verify(signer.sign("msg_2", NOW, BODY), BODY)
        == BODY
    )


def test_v1a_wrong_key(clock: FixedClock) -> None:
    signer = WebhookSigner(_whsk(ed25519.Ed25519PrivateKey.generate()))
    verifier = WebhookVerifier(_whpk(ed25519.Ed25519PrivateKey.generate()), clock=clock)
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, signer.sign("msg_1", NOW, BODY), BODY)


def test_v1_and_v1a_keys_do_not_cross(clock: FixedClock) -> None:
    # An HMAC signature never satisfies an Ed25519 key and vice versa.
    private = ed25519.Ed25519PrivateKey.generate()
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    _fails(
        Reason.SIGNATURE_INVALID, WebhookVerifier(_whpk(private), clock=clock).verify, headers, BODY
    )
    headers = WebhookSigner(_whsk(private)).sign("msg_1", NOW, BODY)
    _fails(Reason.SIGNATURE_INVALID, WebhookVerifier(SECRET, clock=clock).verify, headers, BODY)


def test_wrong_secret(clock: FixedClock) -> None:
    headers = WebhookSigner(OTHER).sign("msg_1", NOW, BODY)
    _fails(Reason.SIGNATURE_INVALID, WebhookVerifier(SECRET, clock=clock).verify, headers, BODY)


def test_tampered_body_id_and_timestamp(clock: FixedClock) -> None:
    verifier = WebhookVerifier(SECRET, clock=clock)
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, headers, BODY + b" ")
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, {**headers, "webhook-id": "msg_2"}, BODY)
    later = str(int(NOW.timestamp()) + 1)
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, {**headers, "webhook-timestamp": later}, BODY)


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers(clock: FixedClock, name: str) -> None:
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    del headers[name]
    _fails(Reason.MISSING_HEADER, WebhookVerifier(SECRET, clock=clock).verify, headers, BODY)


def test_window_edges_are_inclusive_and_symmetric(clock: FixedClock) -> None:
    verifier = WebhookVerifier(SECRET, tolerance=timedelta(minutes=5), clock=clock)
    signer = WebhookSigner(SECRET)
    edge = timedelta(minutes=5)
    assert verifier.verify(signer.sign("a", NOW - edge, BODY), BODY) == BODY
    assert verifier.verify(signer.sign("b", NOW + edge, BODY), BODY) == BODY
    one = timedelta(seconds=1)
    _fails(Reason.STALE, verifier.verify, signer.sign("c", NOW - edge - one, BODY), BODY)
    _fails(Reason.FUTURE, verifier.verify, signer.sign("d", NOW + edge + one, BODY), BODY)


def test_rotation_several_signatures(clock: FixedClock) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    headers = WebhookSigner([OTHER, SECRET, _whsk(private)]).sign("msg_1", NOW, BODY)
    assert len(headers["webhook-signature"].split(" ")) == 3
    # Any one trusted key among several signatures is enough ...
    for trusted in (SECRET, OTHER, _whpk(private), [SECRET, OTHER]):
        assert WebhookVerifier(trusted, clock=clock).verify(headers, BODY) == BODY
    # ... and the receiver may trust the old and new secret during its own switch-over.
    old_only = WebhookSigner(OTHER).sign("msg_2", NOW, BODY)
    assert WebhookVerifier([SECRET, OTHER], clock=clock).verify(old_only, BODY) == BODY
    # A key outside the set never passes, however many signatures are sent.
    third = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    _fails(Reason.SIGNATURE_INVALID, WebhookVerifier(third, clock=clock).verify, headers, BODY)


def test_unknown_versions_are_skipped(clock: FixedClock) -> None:
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    headers["webhook-signature"] = "v2,AAAA " + headers["webhook-signature"]
    assert WebhookVerifier(SECRET, clock=clock).verify(headers, BODY) == BODY
    headers["webhook-signature"] = "v2,AAAA"
    _fails(Reason.SIGNATURE_INVALID, WebhookVerifier(SECRET, clock=clock).verify, headers, BODY)


def test_oversized_headers_and_too_many_signatures(clock: FixedClock) -> None:
    verifier = WebhookVerifier(SECRET, clock=clock)
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    many = " ".join([headers["webhook-signature"]] * 17)
    assert len(many) < 4096
    _fails(Reason.TOO_LARGE, verifier.verify, {**headers, "webhook-signature": many}, BODY)
    huge = headers["webhook-signature"] + " v9," + "A" * 5000
    _fails(Reason.TOO_LARGE, verifier.verify, {**headers, "webhook-signature": huge}, BODY)
    _fails(Reason.TOO_LARGE, verifier.verify, {**headers, "webhook-id": "m" * 5000}, BODY)


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "v1",
        "v1,",
        ",abc",
        "v1,not base64!",
        "v1,AAAA",  # 3 bytes, not a 32-byte tag
        "v1a,AAAA",
        "v1,  ",
        "V1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
        # two spaces between entries: an empty entry
        "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=  v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN",
    ],
)
def test_malformed_signature_header(clock: FixedClock, signature: str) -> None:
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    headers["webhook-signature"] = signature
    _fails(Reason.MALFORMED, WebhookVerifier(SECRET, clock=clock).verify, headers, BODY)


@pytest.mark.parametrize(
    "timestamp", ["", "-1", "+1893456000", "1893456000.5", "1e9", "٣", "9" * 13]
)
def test_malformed_timestamp(clock: FixedClock, timestamp: str) -> None:
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    headers["webhook-timestamp"] = timestamp
    reason = Reason.MALFORMED
    _fails(reason, WebhookVerifier(SECRET, clock=clock).verify, headers, BODY)


@pytest.mark.parametrize("msg_id", ["", "a.b", "with space", "é"])
def test_malformed_message_id(clock: FixedClock, msg_id: str) -> None:
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    headers["webhook-id"] = msg_id
    _fails(Reason.MALFORMED, WebhookVerifier(SECRET, clock=clock).verify, headers, BODY)
    with pytest.raises(ValueError, match="msg_id"):
        WebhookSigner(SECRET).sign(msg_id, NOW, BODY)


def test_bad_configuration_is_specific() -> None:
    with pytest.raises(ValueError, match="24 to 64 bytes"):
        WebhookVerifier("whsec_" + base64.b64encode(b"short").decode())
    with pytest.raises(ValueError, match="whsec_ or whsk_"):
        WebhookVerifier("secret")
    with pytest.raises(ValueError, match="base64"):
        WebhookVerifier("whsec_***")
    with pytest.raises(ValueError, match="32-byte"):
        parse_verifying_key("whpk_" + base64.b64encode(b"x" * 31).decode())
    with pytest.raises(TypeError):
        WebhookVerifier(b"raw bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one"):
        WebhookVerifier([])


def test_signer_wrong_types_are_type_errors() -> None:
    signer = WebhookSigner(SECRET)
    with pytest.raises(TypeError, match="timezone-aware"):
        signer.sign("msg_1", datetime(2030, 1, 1), BODY)
    with pytest.raises(TypeError, match="timestamp must be a datetime"):
        signer.sign("msg_1", 1893456000, BODY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="msg_id is a str"):
        signer.sign(b"msg_1", NOW, BODY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="msg_id is a str"):
        signer.sign(None, NOW, BODY)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="body is bytes"):
        signer.sign("msg_1", NOW, BODY.decode())  # type: ignore[arg-type]


@pytest.mark.parametrize("headers", [None, [("webhook-id", "msg_1")], "webhook-id: msg_1", 3])
def test_verifier_headers_that_are_not_a_mapping_are_a_type_error(
    clock: FixedClock, headers: Any
) -> None:
    # Integrator misuse, not an authentication failure: a TypeError naming the type,
    # never an AttributeError and never a VerificationError that would hide the bug.
    with pytest.raises(TypeError, match=f"headers is a mapping .* not {type(headers).__name__}"):
        WebhookVerifier(SECRET, clock=clock).verify(headers, BODY)


def test_secret_object_is_accepted_and_never_printed(clock: FixedClock) -> None:
    key = Secret(bytes(range(32)))
    headers = WebhookSigner(key).sign("msg_1", NOW, BODY)
    assert WebhookVerifier(SECRET, clock=clock).verify(headers, BODY) == BODY
    assert base64.b64encode(bytes(range(32))).decode() not in repr(WebhookVerifier(key).__dict__)


def test_replay_through_real_guard(clock: FixedClock, guard: Any) -> None:
    verifier = WebhookVerifier(SECRET, guard=guard, clock=clock)
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    assert verifier.verify(headers, BODY) == BODY
    _fails(Reason.REPLAY, verifier.verify, headers, BODY)
    # Another id passes; a second verifier on the same store (another process) agrees.
    other = WebhookVerifier(SECRET, guard=guard, clock=clock)
    assert other.verify(WebhookSigner(SECRET).sign("msg_2", NOW, BODY), BODY) == BODY
    _fails(Reason.REPLAY, other.verify, headers, BODY)


def test_exact_replay_is_refused_later_in_the_window(clock: FixedClock, guard: Any) -> None:
    verifier = WebhookVerifier(SECRET, guard=guard, clock=clock)
    headers = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    assert verifier.verify(headers, BODY) == BODY
    clock.advance(timedelta(minutes=4))
    _fails(Reason.REPLAY, verifier.verify, headers, BODY)
    # Once its signed timestamp has left the window, the window refuses it.
    clock.advance(timedelta(minutes=2))
    _fails(Reason.STALE, verifier.verify, headers, BODY)


def test_sender_retry_with_the_same_id_is_accepted(clock: FixedClock, guard: Any) -> None:
    # Standard Webhooks senders retry a failed delivery with the same webhook-id, a new
    # timestamp and a new signature. The guard runs before the handler, so refusing the
    # retry would lose the event whenever the handler failed the first time.
    verifier = WebhookVerifier(SECRET, guard=guard, clock=clock)
    signer = WebhookSigner(SECRET)
    first = signer.sign("msg_1", NOW, BODY)
    assert verifier.verify(first, BODY) == BODY
    clock.advance(timedelta(seconds=30))
    retry = signer.sign("msg_1", clock.now(), BODY)
    assert retry["webhook-id"] == first["webhook-id"]
    assert verifier.verify(retry, BODY) == BODY
    # Each attempt is still accepted once only.
    _fails(Reason.REPLAY, verifier.verify, retry, BODY)
    _fails(Reason.REPLAY, verifier.verify, first, BODY)


def test_forged_retry_is_refused_and_consumes_nothing(clock: FixedClock, guard: Any) -> None:
    verifier = WebhookVerifier(SECRET, guard=guard, clock=clock)
    assert verifier.verify(WebhookSigner(SECRET).sign("msg_1", NOW, BODY), BODY) == BODY
    clock.advance(timedelta(seconds=30))
    # Same id, new timestamp, signed with an untrusted key.
    forged = WebhookSigner(OTHER).sign("msg_1", clock.now(), BODY)
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, forged, BODY)
    # A captured signature moved onto a new timestamp does not verify either.
    first = WebhookSigner(SECRET).sign("msg_1", NOW, BODY)
    moved = {**first, "webhook-timestamp": forged["webhook-timestamp"]}
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, moved, BODY)
    # Neither claimed the (id, timestamp) pair: the genuine retry with it still passes.
    genuine = WebhookSigner(SECRET).sign("msg_1", clock.now(), BODY)
    assert verifier.verify(genuine, BODY) == BODY


def test_forged_message_does_not_burn_the_id(clock: FixedClock, guard: Any) -> None:
    # The guard is consulted only after the signature verified, so an attacker cannot
    # block a real delivery by sending its id first with a bad signature.
    verifier = WebhookVerifier(SECRET, guard=guard, clock=clock)
    forged = WebhookSigner(OTHER).sign("msg_1", NOW, BODY)
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, forged, BODY)
    assert verifier.verify(WebhookSigner(SECRET).sign("msg_1", NOW, BODY), BODY) == BODY


# Interoperability with the `standardwebhooks` reference package. It reads the wall
# clock itself, so these tests sign at the real current time.


def test_reference_signs_we_verify() -> None:
    now = datetime.now(UTC)
    reference = standardwebhooks.Webhook(SECRET)
    signature = reference.sign("msg_interop", now, BODY.decode())
    headers = {
        "webhook-id": "msg_interop",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    assert WebhookVerifier(SECRET).verify(headers, BODY) == BODY
    _fails(Reason.SIGNATURE_INVALID, WebhookVerifier(OTHER).verify, headers, BODY)


def test_we_sign_reference_verifies() -> None:
    now = datetime.now(UTC)
    headers = WebhookSigner([OTHER, SECRET]).sign("msg_interop", now, BODY)
    assert standardwebhooks.Webhook(SECRET).verify(BODY, headers) == {
        "type": "contact.created",
        "data": {"id": "1f81eb52"},
    }
    third = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(third).verify(BODY, headers)


def test_reference_raw_secret_matches_secret_object() -> None:
    raw = os.urandom(32)
    now = datetime.now(UTC)
    signature = standardwebhooks.Webhook(raw).sign("msg_raw", now, BODY.decode())
    headers = {
        "webhook-id": "msg_raw",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    assert WebhookVerifier(Secret(raw)).verify(headers, BODY) == BODY
