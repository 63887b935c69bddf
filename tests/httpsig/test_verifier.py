"""RFC 9421 verifier: policy, digest, keys, algorithms, time, nonces, malformed input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from cryptorails.errors import Reason, VerificationError
from cryptorails.httpsig import (
    HttpMessage,
    Policy,
    SignatureKey,
    Verifier,
    content_digest,
    parse_component,
    sign,
    verify_content_digest,
)
from cryptorails.secret import Secret
from cryptorails.testing import FixedClock

from .helpers import CREATED

FULL = ["@method", "@target-uri", "content-digest"]
ED = ed25519.Ed25519PrivateKey.generate()
SIGNER = SignatureKey("ed25519", ED)
TRUSTED = {"k1": SignatureKey("ed25519", ED.public_key())}


def _fails(reason: Reason, fn: Any, *args: Any) -> None:
    with pytest.raises(VerificationError) as info:
        fn(*args)
    assert str(info.value) == "verification failed"
    assert info.value.reason is reason


def message(body: bytes = b'{"a":1}', uri: str = "https://api.example/v1/pay?x=1") -> HttpMessage:
    headers = [("Host", "api.example"), ("Content-Type", "application/json")]
    if body:
        headers.append(("Content-Digest", content_digest(body)))
    return HttpMessage(method="POST", target_uri=uri, headers=tuple(headers), body=body)


def signed(msg: HttpMessage | None = None, components: list[str] = FULL, **kw: Any) -> HttpMessage:
    msg = msg or message()
    kw.setdefault("created", CREATED)
    return msg.with_headers(sign(msg, kw.pop("key", SIGNER), kw.pop("kid", "k1"), components, **kw))


def verifier(clock: FixedClock, **kw: Any) -> Verifier:
    return Verifier(kw.pop("keys", TRUSTED), clock=clock, **kw)


def test_round_trip(clock: FixedClock) -> None:
    result = verifier(clock).verify(signed(nonce="n1", tag="app"))
    assert result.components == ("@method", "@target-uri", "content-digest")
    assert (result.keyid, result.algorithm, result.nonce, result.tag) == (
        "k1",
        "ed25519",
        "n1",
        "app",
    )


def test_alternative_target_components(clock: FixedClock) -> None:
    msg = signed(components=["@method", "@authority", "@path", "@query", "content-digest"])
    assert verifier(clock).verify(msg).keyid == "k1"


@pytest.mark.parametrize(
    "components",
    [
        ["@target-uri", "content-digest"],  # no method
        ["@method", "@authority", "@path", "content-digest"],  # no query
        ["@method", "@target-uri"],  # body not covered
        [],
    ],
)
def test_policy_refusals(clock: FixedClock, components: list[str]) -> None:
    _fails(Reason.COMPONENT_NOT_COVERED, verifier(clock).verify, signed(components=components))


def test_no_body_needs_no_digest(clock: FixedClock) -> None:
    msg = signed(message(body=b""), components=["@method", "@target-uri"])
    assert verifier(clock).verify(msg).components == ("@method", "@target-uri")


def test_response_policy(clock: FixedClock) -> None:
    body = b"ok"
    resp = HttpMessage(
        status=200, headers=(("Content-Digest", content_digest(body, ["sha-512"])),), body=body
    )
    msg = signed(resp, components=["@status", "content-digest"])
    assert verifier(clock, policy=Policy.for_responses()).verify(msg).components[0] == "@status"
    _fails(Reason.COMPONENT_NOT_COVERED, verifier(clock).verify, msg)


def test_digest_mismatch_and_tampered_body(clock: FixedClock) -> None:
    msg = signed()
    tampered = HttpMessage(
        method=msg.method, target_uri=msg.target_uri, headers=msg.headers, body=b'{"a":2}'
    )
    _fails(Reason.DIGEST_MISMATCH, verifier(clock).verify, tampered)


def test_digest_functions() -> None:
    both = content_digest(b"x", ["sha-256", "sha-512"])
    assert both.startswith("sha-256=:")
    assert ", sha-512=:" in both
    verify_content_digest(both, b"x")
    verify_content_digest("md5=:AAAA:, " + content_digest(b"x"), b"x")  # unknown ignored
    for bad in ("md5=:AAAA:", "sha-256=abc", "sha-256", "", "sha-256=:@@:"):
        with pytest.raises(ValueError, match=r"Content-Digest|byte sequence|sha"):
            verify_content_digest(bad, b"x")
    with pytest.raises(ValueError, match="unsupported"):
        content_digest(b"x", ["md5"])


def test_malformed_digest_header(clock: FixedClock) -> None:
    msg = message()
    msg = msg.without_headers("content-digest").with_headers([("Content-Digest", "sha-256=oops")])
    _fails(Reason.MALFORMED, verifier(clock).verify, signed(msg))


def test_untrusted_keyid(clock: FixedClock) -> None:
    other = ed25519.Ed25519PrivateKey.generate()
    msg = signed(key=SignatureKey("ed25519", other), kid="k2")
    _fails(Reason.UNKNOWN_KEY, verifier(clock).verify, msg)
    # The right keyid with the wrong key: the signature fails.
    msg = signed(key=SignatureKey("ed25519", other), kid="k1")
    _fails(Reason.SIGNATURE_INVALID, verifier(clock).verify, msg)


def test_algorithm_is_pinned_by_the_key(clock: FixedClock) -> None:
    assert verifier(clock).verify(signed(include_alg=True)).algorithm == "ed25519"
    msg = signed()
    text = dict(msg.headers)["Signature-Input"].replace(";keyid=", ';alg="hmac-sha256";keyid=')
    forged = msg.without_headers("signature-input").with_headers([("Signature-Input", text)])
    _fails(Reason.ALGORITHM_MISMATCH, verifier(clock).verify, forged)


def test_hmac_key_cannot_verify_under_a_public_keyid(clock: FixedClock) -> None:
    # A signer holding only the public key bytes cannot pass them off as an HMAC key.
    raw = ED.public_key().public_bytes_raw()
    forged = signed(key=SignatureKey("hmac-sha256", Secret(raw)), kid="k1")
    _fails(Reason.SIGNATURE_INVALID, verifier(clock).verify, forged)


def test_time_window_edges(clock: FixedClock) -> None:
    five = timedelta(minutes=5)
    second = timedelta(seconds=1)
    v = verifier(clock)
    assert v.verify(signed(created=CREATED - five)).created == CREATED - five
    assert v.verify(signed(created=CREATED + five)).created == CREATED + five
    _fails(Reason.STALE, v.verify, signed(created=CREATED - five - second))
    _fails(Reason.FUTURE, v.verify, signed(created=CREATED + five + second))


def test_expires(clock: FixedClock) -> None:
    v = verifier(clock)
    assert v.verify(signed(expires=CREATED)).expires == CREATED
    _fails(
        Reason.EXPIRED,
        v.verify,
        signed(created=CREATED - timedelta(seconds=10), expires=CREATED - timedelta(seconds=1)),
    )
    _fails(Reason.MALFORMED, v.verify, signed(expires=CREATED - timedelta(seconds=1)))
    _fails(
        Reason.MISSING_PARAMETER,
        verifier(clock, policy=Policy(require_expires=True)).verify,
        signed(),
    )


def test_created_required(clock: FixedClock) -> None:
    _fails(Reason.MISSING_PARAMETER, verifier(clock).verify, signed(include_created=False))


def test_nonce_replay_through_real_guard(clock: FixedClock, guard: Any) -> None:
    v = verifier(clock, guard=guard)
    msg = signed(nonce="n-1")
    assert v.verify(msg).nonce == "n-1"
    _fails(Reason.REPLAY, v.verify, msg)
    _fails(Reason.REPLAY, verifier(clock, guard=guard).verify, msg)  # another instance
    assert v.verify(signed(nonce="n-2")).nonce == "n-2"
    _fails(Reason.MISSING_PARAMETER, v.verify, signed())


def test_missing_and_malformed_signature_fields(clock: FixedClock) -> None:
    v = verifier(clock)
    msg = signed()
    _fails(Reason.MISSING_HEADER, v.verify, msg.without_headers("signature"))
    _fails(Reason.MISSING_HEADER, v.verify, msg.without_headers("signature-input"))
    _fails(Reason.MISSING_HEADER, v.verify, msg, "other")
    for name, value in [
        ("Signature", "sig1=abc"),
        ("Signature", "sig1=:!!:"),
        ("Signature-Input", 'sig1="@method"'),
        ("Signature-Input", "sig1=(@method)"),
        ("Signature-Input", 'sig1=("@method");created=1;created=2;keyid="k1"'),
        ("Signature-Input", 'sig1=("@method");keyid="k1";unknown=1'),
        ("Signature-Input", 'sig1=("@method");keyid=k1'),
        ("Signature-Input", 'sig1=("@method");created=?1;keyid="k1"'),
    ]:
        bad = msg.without_headers(name).with_headers([(name, value)])
        _fails(Reason.MALFORMED, v.verify, bad)
    extra = msg.with_headers([("Signature-Input", 'sig2=("@method");keyid="k1"')])
    _fails(Reason.MALFORMED, v.verify, extra)  # two signatures, no label chosen
    assert v.verify(extra, "sig1").keyid == "k1"


def test_oversized_fields(clock: FixedClock) -> None:
    msg = signed()
    big = msg.with_headers([("Signature", "x=" + ":" + "A" * 9000 + ":")])
    _fails(Reason.TOO_LARGE, verifier(clock).verify, big)
    many = ", ".join(f"s{i}=()" for i in range(9))
    _fails(Reason.TOO_LARGE, verifier(clock).verify, msg.with_headers([("Signature-Input", many)]))


def test_unsupported_component_parameters_are_refused(clock: FixedClock) -> None:
    msg = signed()
    for component in ('"content-type";sf', '"content-type";bs', '"@method";req', '"@foo"'):
        text = dict(msg.headers)["Signature-Input"].replace('("@method"', f'({component} "@method"')
        bad = msg.without_headers("signature-input").with_headers([("Signature-Input", text)])
        _fails(Reason.UNSUPPORTED_COMPONENT, verifier(clock).verify, bad)
    with pytest.raises(ValueError, match="cannot sign"):
        sign(message(), SIGNER, "k1", ['"content-type";key="a"'])


def test_missing_covered_header(clock: FixedClock) -> None:
    msg = signed()
    text = dict(msg.headers)["Signature-Input"].replace('("@method"', '("x-missing" "@method"')
    bad = msg.without_headers("signature-input").with_headers([("Signature-Input", text)])
    _fails(Reason.MISSING_HEADER, verifier(clock).verify, bad)


def test_header_canonicalization_and_query_param(clock: FixedClock) -> None:
    # Two field lines are combined with ", "; whitespace and obs-fold are normalized.
    base = message(uri="https://api.example/p?var=a%20b&bar=with+plus&x=&Pet=dog")
    msg = base.with_headers([("X-Multi", "  one "), ("x-multi", "two\r\n  three")])
    components = [*FULL, "x-multi", '"@query-param";name="bar"', '"@query-param";name="x"']
    signed_msg = signed(msg, components=components)
    from cryptorails.httpsig import signature_base
    from cryptorails.httpsig._sf import InnerList, parse_dictionary

    inner = dict(parse_dictionary(dict(signed_msg.headers)["Signature-Input"]))["sig1"]
    assert isinstance(inner, InnerList)
    lines = signature_base(signed_msg, inner).decode().split("\n")
    assert '"x-multi": one, two three' in lines
    assert '"@query-param";name="bar": with%20plus' in lines
    assert '"@query-param";name="x": ' in lines
    assert verifier(clock).verify(signed_msg).keyid == "k1"
    # The same message with a changed field line no longer verifies.
    changed = signed_msg.without_headers("x-multi").with_headers([("X-Multi", "one, two")])
    _fails(Reason.SIGNATURE_INVALID, verifier(clock).verify, changed)


def test_derived_components() -> None:
    from cryptorails.httpsig._components import component_values

    msg = HttpMessage(
        method="GET", target_uri="HTTPS://WWW.Example.com:443/a%20b?q=1&r", headers=()
    )
    got = {
        c: component_values(msg, parse_component(c))
        for c in [
            "@scheme",
            "@authority",
            "@path",
            "@query",
            "@request-target",
            '"@query-param";name="r"',
        ]
    }
    assert got == {
        "@scheme": ["https"],
        "@authority": ["www.example.com"],
        "@path": ["/a%20b"],
        "@query": ["?q=1&r"],
        "@request-target": ["/a%20b?q=1&r"],
        '"@query-param";name="r"': [""],
    }
    port = HttpMessage(method="GET", target_uri="http://h:8080", headers=())
    assert component_values(port, parse_component("@authority")) == ["h:8080"]
    assert component_values(port, parse_component("@path")) == ["/"]
    assert component_values(port, parse_component("@query")) == ["?"]


def test_key_configuration_errors() -> None:
    with pytest.raises(TypeError):
        SignatureKey("ed25519", Secret(b"x" * 32))
    with pytest.raises(TypeError):
        SignatureKey("hmac-sha256", ED)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32 bytes"):
        SignatureKey("hmac-sha256", Secret(b"short"))
    with pytest.raises(ValueError, match="P-256"):
        SignatureKey("ecdsa-p256-sha256", ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(ValueError, match="rsa-sha1"):
        SignatureKey("rsa-sha1", ED)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="private key"):
        sign(message(), TRUSTED["k1"], "k1", FULL)
