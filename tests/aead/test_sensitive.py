"""`Sealer(mark_plaintext=True)`: opened plaintext is marked, printed as a placeholder."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest

from cryptorails import Context, DecryptionError, Keyring, Sealer
from cryptorails._sensitive import Plaintext

CTX = Context("tenant-a", "email")
SECRET = b"alice@example.com"


def test_default_open_returns_plain_bytes() -> None:
    sealer = Sealer(Keyring.in_memory("test"))
    opened = sealer.open(sealer.seal(SECRET, CTX), CTX)
    assert type(opened) is bytes
    assert sealer.mark_plaintext is False
    # The default path is the class method itself: no wrapper on the instance.
    assert "open" not in vars(sealer)


def test_marked_open_returns_plaintext() -> None:
    sealer = Sealer(Keyring.in_memory("test"), mark_plaintext=True)
    opened = sealer.open(sealer.seal(SECRET, CTX), CTX)
    assert type(opened) is Plaintext
    assert sealer.mark_plaintext is True
    assert opened == SECRET
    assert bytes(opened) == SECRET
    assert type(bytes(opened)) is bytes
    assert opened.decode() == "alice@example.com"
    assert len(opened) == 17


def test_marked_open_with_aad_and_failures() -> None:
    sealer = Sealer(Keyring.in_memory("test"), mark_plaintext=True)
    blob = sealer.seal(SECRET, CTX, aad=b"row-7")
    assert sealer.open(blob, CTX, b"row-7") == SECRET
    assert type(sealer.open(blob, CTX, aad=b"row-7")) is Plaintext
    with pytest.raises(DecryptionError):
        sealer.open(blob, CTX, b"row-8")
    with pytest.raises(DecryptionError):
        sealer.open(blob[:-1] + bytes([blob[-1] ^ 1]), CTX, b"row-7")


def test_plaintext_prints_as_placeholder() -> None:
    p = Plaintext(SECRET)
    assert repr(p) == "Plaintext(<redacted 17 bytes>)"
    assert str(p) == "Plaintext(<redacted 17 bytes>)"
    assert f"{p}" == "Plaintext(<redacted 17 bytes>)"
    assert "%s" % (p,) == "Plaintext(<redacted 17 bytes>)"  # noqa: UP031 -- what logging does
    assert "alice" not in repr([p, {"k": p}])


def test_plaintext_in_a_log_record_does_not_show(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("test.sensitive").info("opened %s", Plaintext(SECRET))
    assert caplog.messages == ["opened Plaintext(<redacted 17 bytes>)"]


def test_plaintext_refuses_pickling_but_copies() -> None:
    p = Plaintext(SECRET)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(p)
    assert copy.copy(p) is p
    assert copy.deepcopy([p])[0] is p


def test_mark_plaintext_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="mark_plaintext must be a bool"):
        Sealer(Keyring.in_memory("test"), mark_plaintext=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Sealer(Keyring.in_memory("test"), True)  # type: ignore[misc]
