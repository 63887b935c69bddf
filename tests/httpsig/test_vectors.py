"""RFC 9421 Appendix B: B.2.5 and B.2.6 reproduced byte for byte, all six verified."""

from __future__ import annotations

import base64
import hashlib

import pytest

from cryptorails.errors import Reason, VerificationError
from cryptorails.httpsig import (
    Policy,
    Verifier,
    parse_request,
    parse_response,
    sign,
    signature_base,
)
from cryptorails.httpsig._sf import InnerList, parse_dictionary
from cryptorails.testing import FixedClock

from .helpers import CREATED, EXAMPLES, example, private_key, public_keys, request, signed

# Verifies the cryptography and the base only; the policy is tested separately.
PERMISSIVE = Policy(required=(), require_content_digest=False)
CLOCK = FixedClock(CREATED)


def _fails(reason: Reason, fn: object, *args: object) -> None:
    with pytest.raises(VerificationError) as info:
        fn(*args)  # type: ignore[operator]
    assert str(info.value) == "verification failed"
    assert info.value.reason is reason


def _components(example_id: str) -> list[str]:
    members = dict(parse_dictionary(example(example_id)["signature_input"]))
    inner = next(iter(members.values()))
    assert isinstance(inner, InnerList)
    return [str(item.value) for item in inner.items]


@pytest.mark.parametrize("example_id", ["B.2.5", "B.2.6"])
def test_deterministic_examples_reproduced_byte_for_byte(example_id: str) -> None:
    e = example(example_id)
    kid = "test-shared-secret" if e["key"] == "shared_secret" else e["key"]
    label = e["signature_input"].split("=", 1)[0]
    headers = sign(
        request(),
        private_key(kid),
        kid,
        _components(example_id),
        created=CREATED,
        label=label,
    )
    assert headers["Signature-Input"] == e["signature_input"]
    assert headers["Signature"] == e["signature"]


@pytest.mark.parametrize("example_id", ["B.2.1", "B.2.2", "B.2.3", "B.2.5", "B.2.6"])
def test_request_examples_verify(example_id: str) -> None:
    e = example(example_id)
    result = Verifier(public_keys(), policy=PERMISSIVE, clock=CLOCK).verify(signed(example_id))
    assert result.keyid == ("test-shared-secret" if e["key"] == "shared_secret" else e["key"])
    assert result.algorithm == e["alg"]
    assert list(result.components) == _components(example_id)
    assert result.created == CREATED


def test_b24_response_signature_verifies_but_its_digest_does_not_match() -> None:
    # The ECDSA signature of B.2.4 verifies over our signature base. The RFC's test
    # response carries a Content-Digest that is not the SHA-512 of its body, so the full
    # verifier, which checks a covered digest against the body, refuses it.
    message = signed("B.2.4")
    body_digest = base64.b64encode(hashlib.sha512(message.body).digest()).decode()
    assert body_digest not in EXAMPLES["response"]["headers"]["Content-Digest"]
    members = dict(parse_dictionary(example("B.2.4")["signature_input"]))
    inner = members["sig-b24"]
    assert isinstance(inner, InnerList)
    signature = dict(parse_dictionary(example("B.2.4")["signature"]))["sig-b24"]
    assert isinstance(signature.value, bytes)
    key = public_keys()["test-key-ecc-p256"]
    assert key.verify(signature.value, signature_base(message, inner))
    assert not key.verify(signature.value, signature_base(message, inner) + b" ")
    verifier = Verifier(public_keys(), policy=Policy.for_responses(), clock=CLOCK)
    _fails(Reason.DIGEST_MISMATCH, verifier.verify, message)


def test_b21_is_refused_by_the_default_policy() -> None:
    # B.2.1 covers no component: valid per RFC 9421, useless as an authorization.
    _fails(
        Reason.COMPONENT_NOT_COVERED, Verifier(public_keys(), clock=CLOCK).verify, signed("B.2.1")
    )


def test_b23_passes_the_default_policy() -> None:
    # @method, @authority, @path, @query and content-digest: the whole request.
    result = Verifier(public_keys(), clock=CLOCK).verify(signed("B.2.3"))
    assert result.keyid == "test-key-rsa-pss"


@pytest.mark.parametrize("example_id", ["B.2.2", "B.2.5", "B.2.6"])
def test_other_request_examples_are_refused_by_the_default_policy(example_id: str) -> None:
    # None of them covers @method with the full target (and the body's digest).
    _fails(
        Reason.COMPONENT_NOT_COVERED,
        Verifier(public_keys(), clock=CLOCK).verify,
        signed(example_id),
    )


@pytest.mark.parametrize("kid", ["test-key-rsa-pss", "test-key-ecc-p256", "test-key-rsa"])
def test_randomized_algorithms_sign_and_verify_with_vector_keys(kid: str) -> None:
    components = ["@method", "@authority", "@path", "@query", "content-digest"]
    headers = sign(request(), private_key(kid), kid, components, created=CREATED)
    result = Verifier(public_keys(), clock=CLOCK).verify(request().with_headers(headers))
    assert result.keyid == kid


def test_raw_http_parsers_give_the_same_messages() -> None:
    r = EXAMPLES["request"]
    raw = (
        "POST /foo?param=Value&Pet=dog HTTP/1.1\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in r["headers"].items())
        + "\r\n"
        + r["body"]
    ).encode()
    assert parse_request(raw) == request()
    s = EXAMPLES["response"]
    raw = (
        "HTTP/1.1 200 OK\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in s["headers"].items())
        + "\r\n"
        + s["body"]
    ).encode()
    parsed = parse_response(raw)
    assert parsed.status == 200
    assert parsed.headers == tuple(s["headers"].items())
