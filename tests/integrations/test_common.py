"""Framework-free pieces: the failure log, key parsing, fingerprints, lazy imports."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from cryptorails.errors import ConfigurationError, Reason
from cryptorails.integrations import FailureDetails, FailureLog, StoredResponse, fingerprint
from cryptorails.integrations._responses import parse_idempotency_key
from cryptorails.testing import FixedClock


def test_package_import_needs_no_framework() -> None:
    code = (
        "import sys, cryptorails.integrations\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('starlette', 'flask', 'anyio')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_rate_limit_per_reason(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cryptorails.verify")
    clock = FixedClock()
    log = FailureLog(per_second=2.0, burst=3, clock=clock)
    details = FailureDetails("stripe", "hmac-sha256")
    emitted = [log.failed(Reason.SIGNATURE_INVALID, details, "t") for _ in range(5)]
    assert emitted == [True, True, True, False, False]
    assert log.failed(Reason.STALE, details, "t")  # another reason has its own bucket
    clock.advance(0.25)  # half a token: still limited
    assert not log.failed(Reason.SIGNATURE_INVALID, details, "t")
    clock.advance(0.25)
    assert log.failed(Reason.SIGNATURE_INVALID, details, "t")
    clock.advance(3600)  # refills up to the burst, not beyond
    assert [log.failed(Reason.SIGNATURE_INVALID, details, "t") for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    records = [(r.reason, r.suppressed) for r in caplog.records]  # type: ignore[attr-defined]
    assert records == [
        ("signature_invalid", 0),
        ("signature_invalid", 0),
        ("signature_invalid", 0),
        ("stale", 0),
        ("signature_invalid", 3),
        ("signature_invalid", 0),
        ("signature_invalid", 0),
        ("signature_invalid", 0),
    ]


def test_failure_log_arguments() -> None:
    with pytest.raises(ValueError, match="per_second must be positive"):
        FailureLog(per_second=0)
    with pytest.raises(ValueError, match="burst at least 1"):
        FailureLog(burst=0)
    assert FailureLog().logger.name == "cryptorails.verify"


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ([], None),
        (["abc-123"], "abc-123"),
        (['"8e03978e-40d5"'], "8e03978e-40d5"),
        (['"with space"'], "with space"),
        ([" padded\t"], "padded"),
    ],
)
def test_idempotency_key_forms(values: list[str], key: str | None) -> None:
    assert parse_idempotency_key(values) == key


@pytest.mark.parametrize(
    "values", [["a", "b"], [""], ['"'], ['"x'], ['x"'], ["a b"], ["é"], ["x" * 256], ['"\\"']]
)
def test_idempotency_key_refused(values: list[str]) -> None:
    with pytest.raises(ValueError, match="Idempotency-Key"):
        parse_idempotency_key(values)


def test_fingerprint_is_unambiguous() -> None:
    assert fingerprint("POST", "/a", b"b") != fingerprint("POST", "/ab", b"")
    assert fingerprint("POST", "/a", b"") != fingerprint("PATCH", "/a", b"")
    assert fingerprint("POST", "/a", b"x") == fingerprint("POST", "/a", b"x")


@pytest.mark.parametrize(
    "data", [b"", b"\x02", b"\x01\x00\xc8\x00\x01\x00\x05ab", b"\x01\x00\x05\x00\x00"]
)
def test_stored_response_refuses_garbage(data: bytes) -> None:
    with pytest.raises(ConfigurationError):
        StoredResponse.from_bytes(data)
