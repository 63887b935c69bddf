"""Framework-free pieces: the failure log, key parsing, fingerprints, lazy imports."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import timedelta

import pytest

from cryptorails.errors import ConfigurationError, Reason, VerificationError
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


def test_adapters_log_through_the_diagnostics_failure_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # One implementation of the event: the adapters' FailureLog is the diagnostics one,
    # rate-limited per (reason, tenant, key id), and `triage logs` reads what it writes.
    from cryptorails import diagnostics
    from cryptorails.triage._logs import parse_event

    assert FailureLog is diagnostics.FailureLog
    caplog.set_level(logging.INFO, logger="cryptorails.verify")
    clock = FixedClock()
    log = FailureLog(limit=3, period=timedelta(seconds=1), clock=clock, host="web-1")
    details = FailureDetails("stripe", "hmac-sha256")
    error = VerificationError(Reason.SIGNATURE_INVALID)

    def failed(e: VerificationError) -> bool:
        return log.log(e, tenant="t", algorithm=details.algorithm, scheme=details.scheme)

    assert [failed(error) for _ in range(5)] == [True, True, True, False, False]
    assert failed(VerificationError(Reason.STALE))  # another reason has its own limit
    clock.advance(1.0)
    assert failed(error)
    records = [(r.reason, r.suppressed, r.scheme) for r in caplog.records]  # type: ignore[attr-defined]
    assert records == [
        ("signature_invalid", 0, "stripe"),
        ("signature_invalid", 0, "stripe"),
        ("signature_invalid", 0, "stripe"),
        ("stale", 0, "stripe"),
        ("signature_invalid", 2, "stripe"),
    ]
    event = parse_event(caplog.records[-1].getMessage())
    assert event is not None
    assert (event.reason, event.host, event.tenant) == ("signature_invalid", "web-1", "t")
    assert FailureLog().logger.name == "cryptorails.verify"  # type: ignore[union-attr]


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
