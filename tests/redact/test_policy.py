"""`RedactionPolicy`: names, value detectors, marked types, fingerprints, copies."""

from __future__ import annotations

import base64
import copy
import datetime
import decimal
import enum
import hashlib
import hmac
import uuid
from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import pytest

from cryptorails import Secret
from cryptorails.redact import Claims, KnownMaterial, Plaintext, RedactionPolicy

from .helpers import make_jwt, make_pem, masks

KEY = bytes(range(32))


def fp(key: bytes, data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hmac.new(key, raw, hashlib.sha256).hexdigest()[:8]


@pytest.fixture
def policy() -> RedactionPolicy:
    return RedactionPolicy(fingerprint_key=KEY)


# -- text -----------------------------------------------------------------------------


def test_only_the_secret_span_is_replaced(policy: RedactionPolicy) -> None:
    token = "q3Zx9LmT2vKp8sRw"
    text = f"Authorization failed for Bearer {token}"
    assert policy.redact_text(text) == (
        f"Authorization failed for Bearer [REDACTED:bearer-credential:{fp(KEY, token)}]"
    )


def test_jwt_and_private_key_in_text(policy: RedactionPolicy) -> None:
    jwt, pem = make_jwt(), make_pem()
    out = policy.redact_text(f"got {jwt} and key:\n{pem}done")
    assert out == (
        f"got [REDACTED:jwt:{fp(KEY, jwt)}] and key:\n"
        f"[REDACTED:private-key:{fp(KEY, pem.rstrip())}]\ndone"
    )


def test_text_without_secrets_is_unchanged(policy: RedactionPolicy) -> None:
    for text in ("", "short", "user alice logged in from 10.0.0.1", "token_type=bearer"):
        assert policy.redact_text(text) == text


def test_redact_text_is_idempotent(policy: RedactionPolicy) -> None:
    text = f"Bearer {make_jwt()} password=Xk29!pLm#qQ7 {make_pem()}"
    once = policy.redact_text(text)
    assert policy.redact_text(once) == once
    assert [kind for kind, _ in masks(once)] == ["jwt", "generic-credential", "private-key"]


def test_overlapping_findings_are_masked_as_their_union(policy: RedactionPolicy) -> None:
    # The registered material (hex) and the generic rule (password=...) overlap in part:
    # the mask must cover both, leaving no piece of either in clear.
    material = bytes(range(100, 132))
    policy.register(material)
    text = f"password={material.hex()[:40]}Zq81 hex={material.hex()}"
    out = policy.redact_text(text)
    assert material.hex() not in out
    assert material.hex()[:40] not in out
    assert out.startswith("password=[REDACTED:")


def test_masks_are_not_reported_as_secrets(policy: RedactionPolicy) -> None:
    from cryptorails.redact import find_secrets
    from cryptorails.redact._detectors import KINDS

    for kind in sorted(KINDS | {"secret", "name", "plaintext", "header", "query-param"}):
        for value in ("hunter2", "a9Zk3", "correct horse", "x" * 40):
            mask = policy.mask(kind, value)
            assert find_secrets(f"value {mask} end") == [], mask


def test_redact_text_rejects_non_str(policy: RedactionPolicy) -> None:
    with pytest.raises(TypeError, match="redact_text takes a str"):
        policy.redact_text(b"bytes")  # type: ignore[arg-type]


# -- names ----------------------------------------------------------------------------


def test_denied_names_mask_whole_values(policy: RedactionPolicy) -> None:
    out = policy.redact(
        {"db_password": "hunter2", "X-Api-Key": "abc", "pin": 1234, "authToken": None, "ok": 1}
    )
    assert out == {
        "db_password": f"[REDACTED:name:{fp(KEY, 'hunter2')}]",
        "X-Api-Key": f"[REDACTED:name:{fp(KEY, 'abc')}]",
        "pin": f"[REDACTED:name:{fp(KEY, '1234')}]",
        "authToken": f"[REDACTED:name:{fp(KEY, 'None')}]",
        "ok": 1,
    }


def test_denied_name_masks_a_whole_subtree(policy: RedactionPolicy) -> None:
    out = policy.redact({"credentials": {"user": "bob", "password": "x"}, "n": [1]})
    assert out == {"credentials": "[REDACTED:name]", "n": [1]}


def test_top_level_name(policy: RedactionPolicy) -> None:
    assert policy.redact("hunter2", name="password") == f"[REDACTED:name:{fp(KEY, 'hunter2')}]"
    assert policy.redact("hunter2", name="user") == "hunter2"
    assert policy.redact(b"hunter2", name="password") == f"[REDACTED:name:{fp(KEY, 'hunter2')}]"


def test_allowlisted_names_still_go_through_value_detectors(policy: RedactionPolicy) -> None:
    jwt = make_jwt()
    out = policy.redact({"token_type": "Bearer", "tokens_used": 12, "session_count": jwt})
    assert out == {
        "token_type": "Bearer",
        "tokens_used": 12,
        "session_count": f"[REDACTED:jwt:{fp(KEY, jwt)}]",
    }


def test_scalars_pass_unless_named(policy: RedactionPolicy) -> None:
    class Color(enum.Enum):
        RED = 1

    values: list[Any] = [
        1,
        2.5,
        True,
        None,
        1j,
        decimal.Decimal("1.5"),
        uuid.UUID(int=5),
        datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
        datetime.date(2024, 1, 2),
        datetime.timedelta(seconds=3),
        Color.RED,
    ]
    out = policy.redact(values)
    assert out == values
    assert all(a is b for a, b in zip(out, values, strict=True))  # type: ignore[call-overload]


# -- marked types and Secret -----------------------------------------------------------


def test_secret_objects_are_masked_with_their_fingerprint() -> None:
    secret = Secret(b"k" * 32)
    default = RedactionPolicy()
    # With the default key, the mask's fp is the one `repr(secret)` shows.
    assert default.redact(secret) == f"[REDACTED:secret:{secret.fingerprint()}]"
    keyed = RedactionPolicy(fingerprint_key=KEY)
    assert keyed.redact({"x": [secret]}) == {"x": [f"[REDACTED:secret:{fp(KEY, b'k' * 32)}]"]}
    # A Secret keeps its kind even under a denied name.
    assert keyed.redact(secret, name="password") == f"[REDACTED:secret:{fp(KEY, b'k' * 32)}]"


def test_marked_plaintext_and_claims_are_masked_by_type(policy: RedactionPolicy) -> None:
    plaintext = Plaintext(b"alice@example.com")
    claims = Claims({"sub": "alice", "email": "alice@example.com"})
    out = policy.redact({"user": plaintext, "token_type": claims, "rows": [plaintext, b"ok"]})
    mask = f"[REDACTED:plaintext:{fp(KEY, b'alice@example.com')}]"
    assert out == {"user": mask, "token_type": "[REDACTED:claims]", "rows": [mask, b"ok"]}


# -- known material -------------------------------------------------------------------


def test_registered_material_is_found_in_its_encodings(policy: RedactionPolicy) -> None:
    material = bytes(range(7, 39))
    policy.register(material)
    hexed = material.hex()
    b64 = base64.b64encode(material).decode()
    b64u = base64.urlsafe_b64encode(material).rstrip(b"=").decode()
    out = policy.redact({"a": f"k={hexed}", "b": f"<{b64}>", "c": b64u, "raw": b"x" + material})
    assert out == {
        "a": f"k=[REDACTED:known-key:{fp(KEY, hexed)}]",
        "b": f"<[REDACTED:known-key:{fp(KEY, b64)}]>",
        "c": f"[REDACTED:known-key:{fp(KEY, b64u)}]",
        "raw": b"x[REDACTED:known-key:" + fp(KEY, material).encode() + b"]",
    }


def test_register_accepts_secret_and_shared_known_material() -> None:
    known = KnownMaterial()
    policy = RedactionPolicy(known=known)
    assert policy.known is known
    policy.register(Secret(b"s" * 20))
    assert len(known) == 1
    assert "s" * 20 not in str(policy.redact_text("s" * 20))
    with pytest.raises(TypeError):
        policy.register("a str")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="known must be a KnownMaterial"):
        RedactionPolicy(known=object())  # type: ignore[arg-type]


# -- fingerprints ---------------------------------------------------------------------


def test_fingerprints_are_keyed() -> None:
    a = RedactionPolicy(fingerprint_key=b"a" * 32)
    a2 = RedactionPolicy(fingerprint_key=Secret(b"a" * 32))
    b = RedactionPolicy(fingerprint_key=b"b" * 32)
    value = "hunter2-hunter2"
    assert a.fingerprint(value) == a.fingerprint(value.encode()) == a2.fingerprint(value)
    assert a.fingerprint(value) == fp(b"a" * 32, value)
    assert a.fingerprint(value) != b.fingerprint(value)
    assert a.fingerprint(value) != hashlib.sha256(value.encode()).hexdigest()[:8]
    assert a.fingerprint(value) != a.fingerprint(value + "!")
    assert len(a.fingerprint(value)) == 8
    # Same value, same fp within a policy: logs can correlate repeats.
    first = a.redact({"password": value})
    assert first == a.redact({"password": value})
    assert first != b.redact({"password": value})


def test_default_key_is_per_process_not_a_plain_hash() -> None:
    value = b"correct horse battery staple"
    policy = RedactionPolicy()
    assert policy.fingerprint(value) == Secret(value).fingerprint()
    assert policy.fingerprint(value) != hashlib.sha256(value).hexdigest()[:8]
    assert RedactionPolicy().fingerprint(value) == policy.fingerprint(value)


def test_mask_format(policy: RedactionPolicy) -> None:
    assert policy.mask("jwt") == "[REDACTED:jwt]"
    assert policy.mask("jwt", "x") == f"[REDACTED:jwt:{fp(KEY, 'x')}]"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"fingerprint_key": "a" * 32}, TypeError, "fingerprint_key must be bytes"),
        ({"fingerprint_key": b"short"}, ValueError, "at least 16 bytes"),
        ({"max_depth": 0}, ValueError, "max_depth must be between 1 and 256"),
        ({"max_depth": 10_000}, ValueError, "max_depth must be between 1 and 256"),
        ({"max_depth": True}, TypeError, "max_depth must be an int"),
        ({"max_nodes": 0}, ValueError, "max_nodes must be between"),
        ({"max_scan_chars": "1"}, TypeError, "max_scan_chars must be an int"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        RedactionPolicy(**kwargs)


# -- copies and shapes ----------------------------------------------------------------


def test_redact_never_mutates_and_returns_new_containers(policy: RedactionPolicy) -> None:
    jwt = make_jwt()
    nested = {"a": [jwt, {"password": "x", "t": (jwt, 1)}], "s": {1, 2}, "b": bytearray(b"ok")}
    before = copy.deepcopy(nested)
    out = policy.redact(nested)
    assert nested == before
    assert isinstance(out, dict)
    assert out is not nested
    assert out["a"] is not nested["a"]
    assert out["a"][1] is not nested["a"][1]
    assert out["a"][1]["t"] == (f"[REDACTED:jwt:{fp(KEY, jwt)}]", 1)
    assert out["s"] == {1, 2}
    assert out["s"] is not nested["s"]
    assert out["b"] == b"ok"
    assert type(out["b"]) is bytes


def test_mapping_types_become_dicts(policy: RedactionPolicy) -> None:
    assert policy.redact(OrderedDict(a=1)) == {"a": 1}
    assert type(policy.redact(OrderedDict(a=1))) is dict
    proxied = policy.redact(MappingProxyType({"password": "x"}))
    assert proxied == {"password": f"[REDACTED:name:{fp(KEY, 'x')}]"}
    assert policy.redact(frozenset({"a"})) == frozenset({"a"})
    assert type(policy.redact(frozenset({"a"}))) is frozenset


def test_bytes_values(policy: RedactionPolicy) -> None:
    jwt = make_jwt().encode()
    assert policy.redact(b"plain bytes value") == b"plain bytes value"
    assert policy.redact(b"auth: " + jwt) == b"auth: [REDACTED:jwt:" + fp(KEY, jwt).encode() + b"]"
    assert policy.redact(memoryview(b"Bearer " + jwt)) == (
        b"Bearer [REDACTED:jwt:" + fp(KEY, jwt).encode() + b"]"
    )
    # Non-UTF-8 bytes around a secret keep their exact bytes.
    assert (
        policy.redact(b"\xff\xfe " + jwt)
        == b"\xff\xfe [REDACTED:jwt:" + fp(KEY, jwt).encode() + b"]"
    )


def test_other_objects_become_their_redacted_repr(policy: RedactionPolicy) -> None:
    jwt = make_jwt()

    class User:
        def __repr__(self) -> str:
            return f"User(token={jwt})"

    out = policy.redact({"user": User()})
    assert out == {"user": f"User(token=[REDACTED:jwt:{fp(KEY, jwt)}])"}


def test_non_str_keys(policy: RedactionPolicy) -> None:
    jwt = make_jwt()
    out = policy.redact({1: "a", None: "b", (1, 2): "c", b"password": "d", jwt: "e", 2.5: jwt})
    assert out == {
        1: "a",
        None: "b",
        (1, 2): "c",
        b"password": f"[REDACTED:name:{fp(KEY, 'd')}]",
        f"[REDACTED:jwt:{fp(KEY, jwt)}]": "e",
        2.5: f"[REDACTED:jwt:{fp(KEY, jwt)}]",
    }
