"""The error tree, and that authentication failures never reveal their cause."""

from __future__ import annotations

import pickle
import traceback

import pytest

import cryptorails
from cryptorails.errors import (
    ConfigurationError,
    CryptoRailsError,
    DecryptionError,
    PolicyError,
    Reason,
    VerificationError,
)


def test_hierarchy_is_pinned() -> None:
    for cls in (DecryptionError, VerificationError, ConfigurationError, PolicyError):
        assert issubclass(cls, CryptoRailsError)
    assert issubclass(CryptoRailsError, Exception)
    assert not issubclass(DecryptionError, VerificationError)
    assert not issubclass(VerificationError, DecryptionError)
    assert not issubclass(ConfigurationError, PolicyError)
    assert not issubclass(DecryptionError, ValueError)
    for name in (
        "CryptoRailsError",
        "DecryptionError",
        "VerificationError",
        "ConfigurationError",
        "PolicyError",
        "Reason",
    ):
        assert getattr(cryptorails, name) is getattr(cryptorails.errors, name)
        assert name in cryptorails.__all__


@pytest.mark.parametrize(
    ("cls", "text"),
    [(DecryptionError, "decryption failed"), (VerificationError, "verification failed")],
)
@pytest.mark.parametrize("reason", list(Reason))
def test_opaque_errors_hide_the_reason(cls: type[Exception], text: str, reason: Reason) -> None:
    err = cls(reason)  # type: ignore[call-arg]
    assert str(err) == text
    assert repr(err) == f"{cls.__name__}()"
    assert err.args == ()
    assert err.reason is reason  # type: ignore[attr-defined]
    formatted = "".join(traceback.format_exception(err))
    assert reason.value not in formatted
    assert reason.name not in formatted


def test_opaque_error_survives_pickling_with_reason() -> None:
    err = pickle.loads(pickle.dumps(DecryptionError(Reason.UNKNOWN_KEY)))
    assert isinstance(err, DecryptionError)
    assert err.reason is Reason.UNKNOWN_KEY
    assert str(err) == "decryption failed"
    assert err.args == ()


def test_misuse_errors_are_specific() -> None:
    assert str(ConfigurationError("keystore belongs to staging")) == "keystore belongs to staging"
