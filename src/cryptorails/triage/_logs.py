"""`triage_logs`: summarize ``verify_failed`` events and say what their pattern suggests.

Reads the lines `cryptorails.diagnostics` writes (one JSON object per message, under any
formatter prefix), structlog JSON lines, and logfmt (``event=verify_failed key=value``).
Other lines are skipped; lines that mention ``verify_failed`` but cannot be read are
counted. Only aggregates are kept, so memory grows with the number of distinct hosts,
tenants, key ids and hours, not with the size of the logs.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptorails.triage._report import iso, printable

__all__ = ["FailureEvent", "LogsReport", "parse_event", "triage_logs"]

EVENT = "verify_failed"
_MAX_LINE = 1024 * 1024
_LOGFMT = re.compile(r'([A-Za-z_@][A-Za-z0-9_.@-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_TIME_FIELDS = ("time", "timestamp", "@timestamp", "ts", "asctime")
_TIME_REASONS = frozenset(
    {"expired", "not_yet_valid", "issued_in_future", "too_old", "stale", "future"}
)
_RETIRED = frozenset({"key_disabled", "key_destroyed"})
_NONE = "(none)"
_TOP = 10


@dataclass(frozen=True)
class FailureEvent:
    """One ``verify_failed`` event read from a log line."""

    reason: str
    tenant: str | None
    key_id: str | None
    host: str | None
    time: datetime | None
    suppressed: int = 0


def _text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return printable(str(value), 120)


def _time(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
        return datetime.fromtimestamp(seconds, UTC) if 0 < seconds < 1e11 else None
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace(",", "."))
    except ValueError:
        return None
    # Log timestamps without a zone are taken as UTC (the usual convention for servers).
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _from_json(line: str) -> dict[str, Any] | None:
    start = line.find("{")
    if start < 0:
        return None
    try:
        obj, _ = json.JSONDecoder().raw_decode(line, start)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    # A JSON formatter wrapping our one-line JSON message: {"message": "{\"event\":...}"}.
    for name in ("message", "msg"):
        inner = obj.get(name)
        if isinstance(inner, str) and inner.lstrip().startswith("{"):
            nested = _from_json(inner)
            if nested is not None:
                return {**obj, **nested}
    return obj


def _from_logfmt(line: str) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in _LOGFMT.findall(line):
        if value.startswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                value = value[1:-1]
        fields[name] = value
    return fields


def parse_event(line: str) -> FailureEvent | None:
    """The ``verify_failed`` event on `line`, or None.

    Raises:
        ValueError: the line mentions ``verify_failed`` but no event can be read from it.
    """
    if EVENT not in line:
        return None
    if len(line) > _MAX_LINE:
        raise ValueError("line too long")
    fields = _from_json(line)
    if fields is None or EVENT not in (fields.get("event"), fields.get("message")):
        fields = _from_logfmt(line)
    if EVENT not in (fields.get("event"), fields.get("msg"), fields.get("message")):
        raise ValueError("no event field")
    reason = _text(fields.get("reason"))
    if not reason:
        raise ValueError("no reason")
    when = next((t for t in (_time(fields.get(n)) for n in _TIME_FIELDS) if t), None)
    suppressed = fields.get("suppressed", 0)
    try:
        count = int(suppressed) if not isinstance(suppressed, bool) else 0
    except (TypeError, ValueError):
        count = 0
    return FailureEvent(
        reason,
        _text(fields.get("tenant")),
        _text(fields.get("key_id", fields.get("kid"))),
        _text(fields.get("host", fields.get("hostname"))),
        when,
        max(0, min(count, 10**9)),
    )


@dataclass
class _Stats:
    events: int = 0
    logged: int = 0
    suppressed: int = 0
    unparseable: int = 0
    skipped: int = 0
    first: datetime | None = None
    last: datetime | None = None
    reason: Counter[str] = field(default_factory=Counter)
    key_id: Counter[str] = field(default_factory=Counter)
    tenant: Counter[str] = field(default_factory=Counter)
    host: Counter[str] = field(default_factory=Counter)
    hour: Counter[str] = field(default_factory=Counter)
    reason_host: Counter[tuple[str, str]] = field(default_factory=Counter)
    host_first: dict[str, datetime] = field(default_factory=dict)
    host_last: dict[str, datetime] = field(default_factory=dict)

    def add(self, e: FailureEvent) -> None:
        weight = 1 + e.suppressed  # held-back events share the logged one's key
        self.events += weight
        self.logged += 1
        self.suppressed += e.suppressed
        host = e.host or _NONE
        self.reason[e.reason] += weight
        self.key_id[e.key_id or _NONE] += weight
        self.tenant[e.tenant or _NONE] += weight
        self.host[host] += weight
        self.reason_host[e.reason, host] += weight
        if e.time is not None:
            t = e.time
            self.first = t if self.first is None else min(self.first, t)
            self.last = t if self.last is None else max(self.last, t)
            self.host_first[host] = min(self.host_first.get(host, t), t)
            self.host_last[host] = max(self.host_last.get(host, t), t)
            hour = t.replace(minute=0, second=0, microsecond=0)
            self.hour[iso(hour).replace(":00:00Z", ":00Z")] += weight


@dataclass
class LogsReport:
    """The outcome of `triage_logs`: `data` (the JSON form), `text`, and `found`."""

    found: bool
    data: dict[str, Any]
    text: str


def triage_logs(lines: Iterable[str]) -> LogsReport:
    """Summarize the ``verify_failed`` events in `lines` and flag patterns."""
    stats = _Stats()
    for line in lines:
        try:
            event = parse_event(line)
        except ValueError:
            stats.unparseable += 1
            continue
        if event is None:
            stats.skipped += 1
        else:
            stats.add(event)
    findings = _findings(stats)
    tables = {
        "by_reason": stats.reason,
        "by_key_id": stats.key_id,
        "by_tenant": stats.tenant,
        "by_host": stats.host,
    }
    data: dict[str, Any] = {
        "events": stats.events,
        "logged": stats.logged,
        "suppressed": stats.suppressed,
        "unparseable": stats.unparseable,
        "skipped": stats.skipped,
        "first": stats.first and iso(stats.first),
        "last": stats.last and iso(stats.last),
        **{name: dict(c.most_common()) for name, c in tables.items()},
        "per_hour": dict(sorted(stats.hour.items())),
        "findings": findings,
    }
    return LogsReport(stats.events > 0, data, _render(stats, tables, findings))


def _render(stats: _Stats, tables: dict[str, Counter[str]], findings: list[str]) -> str:
    out = [
        f"verify_failed events: {stats.events} ({stats.logged} logged, {stats.suppressed} "
        f"suppressed by rate limiting); {stats.unparseable} unparseable line(s), "
        f"{stats.skipped} other line(s) skipped"
    ]
    if stats.events == 0:
        return "\n".join(out)
    if stats.first and stats.last:
        out.append(f"time: first {iso(stats.first)}, last {iso(stats.last)}")
    for name, counter in tables.items():
        out.append(name.replace("_", " ") + ":")
        for value, n in counter.most_common(_TOP):
            out.append(f"  {n:>8}  {_pct(n, stats.events):>4}  {value}")
        if len(counter) > _TOP:
            out.append(f"  (+{len(counter) - _TOP} more)")
    if stats.hour:
        out.append("per hour:")
        out += [f"  {hour}  {n}" for hour, n in sorted(stats.hour.items())]
    out.append("findings:" if findings else "findings: none")
    out += [f"  - {f}" for f in findings]
    return "\n".join(out)


def _pct(n: int, total: int) -> str:
    return f"{100 * n // max(total, 1)}%"


def _at(stats: _Stats, when: datetime) -> str:
    one_day = stats.first and stats.last and stats.first.date() == stats.last.date()
    return f"{when:%H:%M}" if one_day else iso(when)


def _findings(s: _Stats) -> list[str]:
    out: list[str] = []
    total = s.events
    if total == 0:
        return out
    hosts = [h for h in s.host if h != _NONE]
    top_host, n_host = s.host.most_common(1)[0]
    if top_host != _NONE and total >= 3 and n_host >= 0.9 * total:
        first = s.host_first.get(top_host)
        after = f" after {_at(s, first)} (first failure there)" if first else ""
        share = (
            f"all {total}" if n_host == total else f"{n_host} of {total} ({_pct(n_host, total)})"
        )
        out.append(
            f"{share} failures on host {top_host}{after} — a deploy or config change on {top_host}?"
        )
    for reasons, text in (
        ({"unknown_key"}, "stale keystore or JWKS on those hosts (a rotation they missed)?"),
        (_RETIRED, "those hosts retired a key the others still accept: an uneven rotation?"),
    ):
        on = sorted({h for (r, h) in s.reason_host if r in reasons and h != _NONE})
        name = "/".join(sorted(reasons & set(s.reason)))
        if on and len(hosts) > len(on):
            out.append(f"{name} on host{'s' if len(on) > 1 else ''} {', '.join(on)} only — {text}")
        elif on and len(on) > 1 and reasons == {"unknown_key"}:
            out.append(
                "unknown_key on every host — tokens signed by a key no host has: a new issuer "
                "key not yet published, or tokens meant for another issuer or tenant?"
            )
    timed: Counter[str] = Counter()
    for (reason, host), n in s.reason_host.items():
        if reason in _TIME_REASONS:
            timed[host] += n
    n_timed = sum(timed.values())
    if n_timed:
        names = "/".join(sorted({r for r in s.reason if r in _TIME_REASONS}))
        host, n = timed.most_common(1)[0]
        if len(hosts) > 1 and host != _NONE and n_timed >= 3 and n >= 0.8 * n_timed:
            out.append(
                f"{names} concentrated on host {host} ({n} of {n_timed}) — its clock? Run "
                "`cryptorails triage clocks` there."
            )
        elif n_timed >= 0.5 * total:
            out.append(
                f"{names} make up {_pct(n_timed, total)} of failures — clock skew between "
                "issuers and verifiers, or clients holding tokens too long?"
            )
    kids = Counter({k: n for k, n in s.key_id.items() if k != _NONE})
    if kids:
        kid, n = kids.most_common(1)[0]
        if total >= 5 and n >= 0.9 * total:
            out.append(
                f"one key id ({kid}) accounts for {_pct(n, total)} of failures — a rotated-away "
                "or disabled key?"
            )
    tenants = Counter({t: n for t, n in s.tenant.items() if t != _NONE})
    if len(tenants) > 1:
        tenant, n = tenants.most_common(1)[0]
        if n >= 0.9 * total:
            out.append(
                f"tenant {tenant} accounts for {_pct(n, total)} of failures — a change in its "
                "issuer, secret or configuration?"
            )
    out += _reason_findings(s)
    return out


def _reason_findings(s: _Stats) -> list[str]:
    out = []
    total = s.events
    if s.reason["signature_invalid"] >= 0.5 * total and total >= 3:
        out.append(
            "mostly signature_invalid — a secret rotated on one side only (or a test secret "
            "against live traffic), or a proxy changing what was signed?"
        )
    if s.reason["digest_mismatch"]:
        out.append(
            f"{s.reason['digest_mismatch']} digest_mismatch — bodies changed in transit (a "
            "proxy or framework re-encoding them before verification?)"
        )
    if s.reason["replay"]:
        out.append(
            f"{s.reason['replay']} replay — senders retrying without a new timestamp and "
            "signature, or a replay attack: check the senders' message ids"
        )
    if len(s.hour) >= 3:
        counts = sorted(s.hour.values())
        median = counts[len(counts) // 2]
        hour, peak = s.hour.most_common(1)[0]
        if peak >= 10 and peak >= 5 * median:
            out.append(
                f"burst at {hour}: {peak} failures, {math.floor(peak / max(median, 1))} times the "
                "median hour — an incident or an attack?"
            )
    if s.suppressed:
        out.append(f"{s.suppressed} events were held back by rate limiting (counted above)")
    if s.unparseable:
        out.append(f"{s.unparseable} line(s) mention verify_failed but could not be read")
    return out
