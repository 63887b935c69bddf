"""`cryptorails triage logs` on logs written by `cryptorails.diagnostics` itself."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cryptorails.diagnostics import FailureLog
from cryptorails.errors import Reason, VerificationError
from cryptorails.testing import FixedClock
from cryptorails.triage._logs import parse_event

from .conftest import Run, as_json

START = datetime(2030, 1, 1, 13, 40, tzinfo=UTC)


class Fleet:
    """One FailureLog per host, all writing through a real formatter into one file."""

    def __init__(self, path: Path, name: str) -> None:
        self.clock = FixedClock(START)
        self.logger = logging.getLogger(f"test.triage.logs.{name}")
        self.logger.propagate = False
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        self.logger.addHandler(handler)
        self.handler = handler
        self.logs: dict[str, FailureLog] = {}

    def fail(self, host: str, reason: Reason, n: int = 1, every: float = 10, **kw: str) -> None:
        log = self.logs.setdefault(
            host, FailureLog(self.logger, host=host, clock=self.clock, limit=1000)
        )
        for _ in range(n):
            log.log(VerificationError(reason), **kw)  # type: ignore[arg-type]
            self.clock.advance(every)

    def close(self) -> None:
        self.handler.close()
        self.logger.removeHandler(self.handler)


@pytest.fixture
def fleet(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Fleet]:
    f = Fleet(tmp_path / "app.log", request.node.name)
    yield f
    f.close()


def test_a_deploy_on_one_host_with_a_stale_keystore(run: Run, fleet: Fleet, tmp_path: Path) -> None:
    fleet.fail("eu-1", Reason.EXPIRED, tenant="acme", key_id="k1")
    fleet.clock.set(datetime(2030, 1, 1, 14, 2, tzinfo=UTC))
    fleet.fail("eu-2", Reason.UNKNOWN_KEY, n=60, every=60, tenant="acme", key_id="k9")
    result = run("triage", "logs", tmp_path / "app.log")
    assert result.exit_code == 1
    out = result.stdout
    assert out.startswith("verify_failed events: 61 (61 logged, 0 suppressed by rate limiting)")
    assert "time: first 2030-01-01T13:40:00Z, last 2030-01-01T15:01:00Z" in out
    assert "60 of 61 (98%) failures on host eu-2 after 14:02 (first failure there)" in out
    assert "unknown_key on host eu-2 only — stale keystore or JWKS" in out
    assert "one key id (k9) accounts for 98% of failures — a rotated-away or disabled key?" in out
    data = as_json(run("triage", "logs", tmp_path / "app.log", "--format", "json"))
    assert data["by_reason"] == {"unknown_key": 60, "expired": 1}
    assert data["by_host"] == {"eu-2": 60, "eu-1": 1}
    assert data["by_tenant"] == {"acme": 61}
    assert data["per_hour"] == {
        "2030-01-01T13:00Z": 1,
        "2030-01-01T14:00Z": 58,
        "2030-01-01T15:00Z": 2,
    }
    assert data["first"] == "2030-01-01T13:40:00Z"
    assert data["unparseable"] == 0


def test_time_failures_on_one_host_point_at_its_clock(
    run: Run, fleet: Fleet, tmp_path: Path
) -> None:
    for host in ("a", "b", "c"):
        fleet.fail(host, Reason.SIGNATURE_INVALID, n=2, tenant="acme")
    fleet.fail("b", Reason.EXPIRED, n=8, tenant="acme")
    fleet.fail("b", Reason.NOT_YET_VALID, n=4, tenant="globex")
    fleet.fail("c", Reason.EXPIRED, n=1, tenant="acme")
    data = as_json(run("triage", "logs", tmp_path / "app.log", "--format", "json"))
    assert data["events"] == 19
    assert (
        "expired/not_yet_valid concentrated on host b (12 of 13) — its clock? Run "
        "`cryptorails triage clocks` there." in data["findings"]  # type: ignore[operator]
    )
    assert not any("one key id" in f for f in data["findings"])  # type: ignore[union-attr]


def test_all_failures_on_one_host_and_every_host_unknown_key(
    run: Run, fleet: Fleet, tmp_path: Path
) -> None:
    fleet.fail("eu-2", Reason.UNKNOWN_KEY, n=5)
    out = run("triage", "logs", tmp_path / "app.log").stdout
    assert "all 5 failures on host eu-2 after 13:40 (first failure there)" in out
    fleet.fail("eu-3", Reason.UNKNOWN_KEY, n=5)
    fleet.fail("eu-4", Reason.UNKNOWN_KEY, n=5)
    out = run("triage", "logs", tmp_path / "app.log").stdout
    assert "unknown_key on every host — tokens signed by a key no host has" in out


def test_suppressed_events_count(run: Run, tmp_path: Path) -> None:
    logger = logging.getLogger("test.triage.logs.suppressed")
    logger.propagate = False
    handler = logging.FileHandler(tmp_path / "s.log")
    logger.addHandler(handler)
    clock = FixedClock(START)
    log = FailureLog(logger, limit=2, clock=clock, host="h")
    for _ in range(7):
        log.log(VerificationError(Reason.REPLAY), tenant="acme")
    clock.advance(61)
    log.log(VerificationError(Reason.REPLAY), tenant="acme")
    handler.close()
    data = as_json(run("triage", "logs", tmp_path / "s.log", "--format", "json"))
    assert (data["events"], data["logged"], data["suppressed"]) == (8, 3, 5)
    assert data["by_reason"] == {"replay": 8}
    assert "5 events were held back by rate limiting (counted above)" in data["findings"]  # type: ignore[operator]


def test_structlog_json_logfmt_and_junk(run: Run, tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "event": "verify_failed",
                "reason": "stale",
                "tenant": "t1",
                "host": "w1",
                "timestamp": "2030-01-01T10:15:00.5Z",
            }
        ),
        "ts=2030-01-01T10:20:00Z level=warning event=verify_failed reason=replay host=w2 "
        'tenant="t 2" key_id=k1',
        '{"message": "{\\"event\\":\\"verify_failed\\",\\"reason\\":\\"expired\\"}", "x": 1}',
        "2030-01-01 10:30:00 verify_failed for someone",  # no readable fields
        "2030-01-01 10:31:00 GET /health 200",
    ]
    (tmp_path / "mixed.log").write_text("\n".join(lines) + "\n")
    result = run("triage", "logs", tmp_path / "mixed.log", "--format", "json")
    assert result.exit_code == 1
    data = as_json(result)
    assert data["by_reason"] == {"stale": 1, "replay": 1, "expired": 1}
    assert data["by_tenant"] == {"t1": 1, "t 2": 1, "(none)": 1}
    assert data["by_key_id"] == {"(none)": 2, "k1": 1}
    assert (data["unparseable"], data["skipped"]) == (1, 1)
    assert data["first"] == "2030-01-01T10:15:00.500Z"
    assert data["last"] == "2030-01-01T10:20:00Z"


def test_no_events_exits_0(run: Run, tmp_path: Path) -> None:
    (tmp_path / "quiet.log").write_text("INFO started\nINFO ready\n")
    result = run("triage", "logs", tmp_path / "quiet.log")
    assert result.exit_code == 0
    assert result.stdout.startswith("verify_failed events: 0 (0 logged")
    assert run("triage", "logs", tmp_path / "nope.log").exit_code == 2


def test_parse_event_is_strict_about_what_it_reads() -> None:
    assert parse_event("nothing here") is None
    with pytest.raises(ValueError, match="no reason"):
        parse_event('{"event": "verify_failed"}')
    event = parse_event(
        'x {"event":"verify_failed","reason":"unknown_key","suppressed":"4",'
        '"time":1893499200,"host":"h\\u001b[31m"}'
    )
    assert event is not None
    assert (event.reason, event.suppressed) == ("unknown_key", 4)
    assert event.time == datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert event.host == "h\\u001b[31m"  # control characters never reach the terminal
