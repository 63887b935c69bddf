"""`cryptorails.diagnostics`: the verify_failed event, its rate limit and redaction."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import cryptography
import pytest
import structlog
from structlog.testing import capture_logs

from cryptorails.diagnostics import FailureLog, log_verify_failed, provider_versions
from cryptorails.errors import ConfigurationError, DecryptionError, Reason, VerificationError
from cryptorails.secret import Secret
from cryptorails.testing import FixedClock

NOW = datetime(2030, 1, 1, 14, 2, 3, 250000, tzinfo=UTC)


class Records(logging.Handler):
    """Keeps the records a real logger emits (a sink, like pytest's caplog)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def events(self) -> list[dict[str, object]]:
        return [json.loads(r.getMessage()) for r in self.records]


@pytest.fixture
def sink(request: pytest.FixtureRequest) -> tuple[logging.Logger, Records]:
    logger = logging.getLogger(f"test.diagnostics.{request.node.name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = Records()
    logger.addHandler(handler)
    return logger, handler


def test_the_event_is_one_line_of_json_with_every_field(
    sink: tuple[logging.Logger, Records],
) -> None:
    logger, handler = sink
    log = FailureLog(logger, clock=FixedClock(NOW), host="eu-2")
    error = VerificationError(Reason.UNKNOWN_KEY)
    assert log.log(error, tenant="acme", key_id=17, algorithm="EdDSA", route="/api") is True
    (record,) = handler.records
    assert record.levelno == logging.WARNING
    line = record.getMessage()
    assert "\n" not in line
    assert json.loads(line) == {
        "event": "verify_failed",
        "reason": "unknown_key",
        "error": "VerificationError",
        "tenant": "acme",
        "key_id": "17",
        "algorithm": "EdDSA",
        "cryptography": cryptography.__version__,
        "openssl": provider_versions()["openssl"],
        "host": "eu-2",
        "time": "2030-01-01T14:02:03.250Z",
        "suppressed": 0,
        "route": "/api",
    }
    assert provider_versions()["openssl"].startswith("OpenSSL ")
    # The same fields on the record, for JSON formatters that read `extra`.
    assert (record.event, record.reason, record.tenant) == ("verify_failed", "unknown_key", "acme")  # type: ignore[attr-defined]
    # Under any formatter the JSON object stays intact on the line.
    formatted = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s").format(record)
    assert formatted.endswith(line)


def test_decryption_errors_and_a_field_named_like_a_record_attribute(
    sink: tuple[logging.Logger, Records],
) -> None:
    logger, handler = sink
    FailureLog(logger).log(DecryptionError(Reason.AUTHENTICATION_FAILED), name="blob-store")
    (event,) = handler.events()
    assert event["error"] == "DecryptionError"
    assert event["reason"] == "authentication_failed"
    assert event["name"] == "blob-store"  # in the JSON; `extra` may not set LogRecord.name
    assert handler.records[0].name == logger.name


def test_rate_limit_per_key_with_a_fixed_clock(sink: tuple[logging.Logger, Records]) -> None:
    logger, handler = sink
    clock = FixedClock(NOW)
    log = FailureLog(logger, limit=3, period=timedelta(seconds=60), clock=clock)
    expired = VerificationError(Reason.EXPIRED)
    assert [log.log(expired, tenant="acme") for _ in range(5)] == [True, True, True, False, False]
    # Another key (tenant, reason or key id) has its own budget.
    assert log.log(expired, tenant="globex") is True
    assert log.log(VerificationError(Reason.REPLAY), tenant="acme") is True
    clock.advance(59)
    assert log.log(expired, tenant="acme") is False
    clock.advance(1)
    assert log.log(expired, tenant="acme") is True
    events = [e for e in handler.events() if e["tenant"] == "acme" and e["reason"] == "expired"]
    assert [e["suppressed"] for e in events] == [0, 0, 0, 3]


def test_tracked_keys_are_bounded(sink: tuple[logging.Logger, Records]) -> None:
    logger, _ = sink
    clock = FixedClock(NOW)
    log = FailureLog(logger, limit=1, max_keys=2, clock=clock)
    error = VerificationError(Reason.UNKNOWN_KEY)
    assert log.log(error, key_id="a") is True
    assert log.log(error, key_id="b") is True
    # The table is full: attacker-chosen key ids share one overflow budget.
    assert log.log(error, key_id="c") is True
    assert log.log(error, key_id="d") is False
    assert len(log._windows) == 3  # a, b and the overflow key, never more
    clock.advance(60)  # expired windows are evicted before the overflow is used
    assert log.log(error, key_id="x" * 1000) is True
    assert len(log._windows) == 2  # a and b were evicted; the overflow window stays
    logged = json.loads(log.logger.handlers[0].records[-1].getMessage())  # type: ignore[union-attr]
    assert logged["key_id"] == "x" * 128 + "..."  # an attacker-sized kid is cut
    assert log.log(error, key_id="e") is True


def test_secrets_passed_as_fields_are_masked(sink: tuple[logging.Logger, Records]) -> None:
    logger, handler = sink
    jwt = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEiLCJhZG1pbiI6dHJ1ZX0."
        "c2lnbmF0dXJlLWJ5dGVzLWZvci10aGUtdGVzdA"
    )
    key = Secret(bytes(range(64, 96)))
    FailureLog(logger, clock=FixedClock(NOW)).log(
        VerificationError(Reason.SIGNATURE_INVALID),
        tenant="acme",
        token=jwt,  # a denied name: masked whole
        detail=f"header was Bearer {jwt}",  # a harmless name: the JWT span is masked
        signing_key=key,  # a Secret: masked by type
    )
    line = handler.records[0].getMessage()
    assert jwt not in line
    assert jwt[:40] not in line
    event = json.loads(line)
    assert event["token"].startswith("[REDACTED:name:")
    assert event["detail"].startswith("header was ")
    assert "[REDACTED:" in event["detail"]
    assert event["signing_key"].startswith("[REDACTED:")
    assert handler.records[0].token.startswith("[REDACTED:")  # type: ignore[attr-defined]
    assert event["tenant"] == "acme"
    assert event["reason"] == "signature_invalid"


def test_a_logger_adapter_is_a_stdlib_logger(sink: tuple[logging.Logger, Records]) -> None:
    logger, handler = sink
    adapter = logging.LoggerAdapter(logger, {"service": "billing"})
    assert FailureLog(adapter, host="h").log(VerificationError(Reason.REPLAY)) is True
    assert handler.events()[0]["reason"] == "replay"


def test_structlog_style_logger() -> None:
    with capture_logs() as events:
        log = FailureLog(structlog.get_logger(), clock=FixedClock(NOW), host="h1")
        log.log(VerificationError(Reason.STALE), tenant="acme", scheme="stripe")
    (event,) = events
    assert event["event"] == "verify_failed"
    assert event["log_level"] == "warning"
    assert (event["reason"], event["host"], event["scheme"]) == ("stale", "h1", "stripe")


def test_log_verify_failed_keeps_one_rate_limit_per_logger(
    sink: tuple[logging.Logger, Records],
) -> None:
    logger, handler = sink
    error = VerificationError(Reason.MALFORMED)
    results = [log_verify_failed(error, tenant="acme", logger=logger) for _ in range(11)]
    assert results == [True] * 10 + [False]
    assert len(handler.records) == 10


def test_misuse() -> None:
    log = FailureLog(logging.getLogger("test.diagnostics.misuse"))
    with pytest.raises(TypeError, match="DecryptionError or VerificationError"):
        log.log(ConfigurationError("x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'reason' is set by log_verify_failed"):
        log.log(VerificationError(Reason.EXPIRED), reason="mine")
    with pytest.raises(TypeError, match="key_id"):
        log.log(VerificationError(Reason.EXPIRED), key_id=["a"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"logging\.Logger"):
        FailureLog(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="period"):
        FailureLog(period=timedelta(0))
    with pytest.raises(ValueError, match="limit"):
        FailureLog(limit=0)
