"""`Secret`: never printed, pickled or compared in variable time."""

from __future__ import annotations

import base64
import copy
import pickle

import pytest

from cryptorails import secret as secret_module
from cryptorails.secret import Secret

RAW = bytes(range(32))


def test_reveal_is_the_only_way_out() -> None:
    s = Secret(RAW)
    assert s.reveal() == RAW
    assert len(s) == 32
    assert Secret(bytearray(RAW)).reveal() == RAW
    assert Secret(memoryview(RAW)).reveal() == RAW


@pytest.mark.parametrize("render", [repr, str, lambda s: f"{s}", lambda s: "%s" % (s,)])  # noqa: UP031
def test_rendering_shows_no_material(render: object) -> None:
    s = Secret(RAW)
    text = render(s)  # type: ignore[operator]
    assert text == f"Secret(<redacted>, fp={s.fingerprint()})"
    for encoded in (RAW.hex(), base64.b64encode(RAW).decode(), repr(RAW)):
        assert encoded not in text


def test_fingerprint_is_short_stable_and_distinguishes() -> None:
    a, b = Secret(RAW), Secret(RAW[::-1])
    assert a.fingerprint() == Secret(RAW).fingerprint()
    assert a.fingerprint() != b.fingerprint()
    assert len(a.fingerprint()) == 8
    # keyed: not a plain SHA-256 prefix that a guess could be checked against
    import hashlib

    assert a.fingerprint() != hashlib.sha256(RAW).hexdigest()[:8]


def test_refuses_pickling() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(RAW))


def test_copy_returns_the_same_object() -> None:
    s = Secret(RAW)
    assert copy.copy(s) is s
    assert copy.deepcopy({"k": s})["k"] is s


def test_equality_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = secret_module.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(secret_module.hmac, "compare_digest", spy)
    assert Secret(RAW) == Secret(RAW)
    assert Secret(RAW) != Secret(bytes(32))
    assert len(calls) == 2


def test_never_equal_to_plain_bytes_and_unhashable() -> None:
    assert Secret(RAW) != RAW
    with pytest.raises(TypeError):
        hash(Secret(RAW))


@pytest.mark.parametrize("bad", ["text", 42, None, [1, 2]])
def test_wraps_bytes_only(bad: object) -> None:
    with pytest.raises(TypeError, match="Secret wraps bytes"):
        Secret(bad)  # type: ignore[arg-type]


def test_observers_see_new_secrets_only_inside_the_block() -> None:
    seen: list[bytes] = []
    inner: list[bytes] = []
    Secret(b"before")
    with secret_module._observe(seen.append):
        Secret(RAW)
        with secret_module._observe(inner.append):
            Secret(bytearray(b"nested"))
        Secret(memoryview(b"after-inner"))
    Secret(b"after")
    assert seen == [RAW, b"nested", b"after-inner"]
    assert inner == [b"nested"]
    assert all(type(m) is bytes for m in seen)
    assert seen.append not in secret_module._observers
    assert inner.append not in secret_module._observers


def test_observer_is_removed_when_the_block_raises() -> None:
    seen: list[bytes] = []
    with pytest.raises(RuntimeError), secret_module._observe(seen.append):
        raise RuntimeError("boom")
    Secret(RAW)
    assert seen == []
    assert seen.append not in secret_module._observers
