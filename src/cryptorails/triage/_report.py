"""What the triage reports share: durations, times, safe text, and the text layout."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "SKEW_LIMIT",
    "AtClock",
    "ClockSkew",
    "Line",
    "Section",
    "TimeClaim",
    "compact_json",
    "human_duration",
    "iso",
    "parse_when",
    "printable",
    "render",
    "skew_of",
    "time_claims",
]

# Offsets up to this are "clock skew": NTP-less hosts, a paused VM, a wrong time zone
# fix applied by hand. Beyond it, a timestamp is more likely stale, replayed or wrong.
SKEW_LIMIT = timedelta(minutes=10)
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


class AtClock:
    """A clock whose wall time is fixed at the triage's "now" (monotonic is the host's)."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return time.monotonic()


def human_duration(seconds: float | timedelta) -> str:
    """``4m 10s``, ``2h 5m``, ``3d 1h``: the two largest units, whole seconds, no sign."""
    if isinstance(seconds, timedelta):
        seconds = seconds.total_seconds()
    left = round(abs(seconds))
    if left == 0:
        return "0s" if abs(seconds) < 0.5 else "1s"
    parts = []
    for unit, size in _UNITS:
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
        if len(parts) == 2 or (parts and not left):
            break
    return " ".join(parts)


def iso(when: datetime) -> str:
    """UTC ISO 8601 with a ``Z``, to the second (or to the millisecond when it has one)."""
    when = when.astimezone(UTC)
    spec = "milliseconds" if when.microsecond else "seconds"
    return when.isoformat(timespec=spec).replace("+00:00", "Z")


def parse_when(text: str) -> datetime:
    """An ISO 8601 time with a zone (``2030-01-01T12:00:00Z``) or Unix seconds.

    Raises:
        ValueError: neither, or an ISO time without a zone (ambiguous).
    """
    text = text.strip()
    if re.fullmatch(r"[0-9]{1,12}(\.[0-9]{1,9})?", text):
        return datetime.fromtimestamp(float(text), UTC)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time or Unix seconds: {printable(text, 40)}") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("an ISO 8601 time needs a zone, e.g. 2030-01-01T12:00:00Z")
    return when.astimezone(UTC)


def printable(text: str, limit: int = 200) -> str:
    """`text` with control and non-ASCII characters escaped, cut at `limit` characters.

    Captured inputs are attacker text: printed raw, an escape sequence could rewrite the
    operator's terminal, and a newline could forge a report line.
    """
    cut = len(text) > limit
    out = _UNPRINTABLE.sub(lambda m: json.dumps(m.group())[1:-1], text[:limit])
    return out + f"... ({len(text)} characters)" if cut else out


def compact_json(value: object, limit: int = 2000) -> str:
    """`value` as one line of ASCII JSON, cut at `limit` characters."""
    return printable(
        json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=str), limit
    )


@dataclass(frozen=True)
class Line:
    """One report line: a label, its text, and an optional status (ok, FAIL, warn)."""

    label: str
    text: str
    status: str = ""


@dataclass
class Section:
    """A titled group of lines."""

    title: str
    lines: list[Line] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # the section's facts, for JSON

    def add(self, label: str, text: str, status: str = "") -> None:
        self.lines.append(Line(label, text, status))


def render(sections: Sequence[Section], closing: Sequence[Line] = ()) -> str:
    """The text form: each section's title, then its lines as ``[status] label  text``."""
    out: list[str] = []
    width = max((len(ln.label) for s in sections for ln in s.lines), default=0)
    for section in sections:
        out.append(section.title)
        for ln in section.lines:
            status = f"[{ln.status}]" if ln.status else ""
            out.append(f"  {status:<6} {ln.label:<{width}}  {ln.text}".rstrip())
    width = max((len(ln.label) for ln in closing), default=0)
    for ln in closing:
        label = ln.label + ":" if ln.label else ""
        out.append(f"{label:<{width + 1}} {ln.text}")
    return "\n".join(out)


# -- time claims against now (tokens) and clock skew ---------------------------------


@dataclass
class Report:
    """A triage outcome: `data` (the JSON form) and `text` (rendered from `sections`)."""

    data: dict[str, Any]
    sections: list[Section]
    closing: list[Line]

    @property
    def text(self) -> str:
        return render(self.sections, self.closing)


@dataclass(frozen=True)
class TimeClaim:
    """One of exp, nbf, iat (or max_age) judged against now."""

    name: str
    value: object
    seconds_from_now: float | None
    status: str
    text: str

    def to_json(self) -> dict[str, object]:
        return {
            "claim": self.name,
            "value": self.value,
            "seconds_from_now": self.seconds_from_now,
            "status": self.status or "info",
            "text": self.text,
        }


@dataclass(frozen=True)
class ClockSkew:
    """A suspected offset between the issuer's clock and this host's."""

    issuer_offset_seconds: float  # issuer minus verifier: positive = issuer ahead
    caused_failure: bool
    text: str

    def to_json(self) -> dict[str, object]:
        return {
            "suspected": True,
            "issuer_offset_seconds": round(self.issuer_offset_seconds, 3),
            "caused_failure": self.caused_failure,
            "hint": "cryptorails triage clocks",
            "text": self.text,
        }


def _numeric(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if abs(number) < 1e11 else None  # beyond year 5000: not a real time


def time_claims(
    claims: dict[str, object],
    now: datetime,
    leeway: timedelta,
    max_age: timedelta | None,
    required: Sequence[str],
) -> list[TimeClaim]:
    """exp, nbf, iat and max_age against `now` with `leeway`, the way the verifier
    judges them (RFC 7519 §4.1.4-4.1.6), in words."""
    now_s, lee = now.timestamp(), leeway.total_seconds()
    lw = f"the leeway of {human_duration(lee)}"
    out: list[TimeClaim] = []
    for name in ("exp", "nbf", "iat"):
        if name not in claims:
            req = name in required
            out.append(
                TimeClaim(
                    name,
                    None,
                    None,
                    "FAIL" if req else "",
                    "absent" + (" (required)" if req else ""),
                )
            )
            continue
        value = claims[name]
        number = _numeric(value)
        if number is None:
            out.append(
                TimeClaim(name, value, None, "FAIL", "not a NumericDate (a number of seconds)")
            )
            continue
        d = number - now_s
        at = iso(datetime.fromtimestamp(number, UTC)) + ": "
        hd = human_duration(d)
        if name == "exp":
            if -d >= lee:
                status, text = "FAIL", f"expired {hd} ago, beyond {lw}"
            elif d <= 0:
                status, text = "warn", f"expired {hd} ago, within {lw}"
            else:
                status, text = "ok", f"expires in {hd}"
        elif d > lee:
            what = "not valid for another" if name == "nbf" else "issued"
            tail = "" if name == "nbf" else " in the future"
            status, text = "FAIL", f"{what} {hd}{tail}, beyond {lw}"
        elif d > 0:
            status, text = "warn", f"{hd} in the future, within {lw}"
        else:
            status, text = "ok", ("valid since " if name == "nbf" else "issued ") + f"{hd} ago"
        out.append(TimeClaim(name, value, d, status, at + text))
    if max_age is None:
        out.append(TimeClaim("max_age", None, None, "", "not configured"))
        return out
    iat = _numeric(claims.get("iat"))
    limit = human_duration(max_age)
    if iat is None:
        out.append(TimeClaim("max_age", limit, None, "FAIL", f"{limit} configured: iat is needed"))
    elif now_s - iat > max_age.total_seconds() + lee:
        text = f"token is {human_duration(now_s - iat)} old; max {limit}, beyond {lw}"
        out.append(TimeClaim("max_age", limit, iat - now_s, "FAIL", text))
    else:
        text = f"token is {human_duration(max(0.0, now_s - iat))} old; max {limit}"
        out.append(TimeClaim("max_age", limit, iat - now_s, "ok", text))
    return out


_HINT = "Run `cryptorails triage clocks` to measure the offset between the hosts."


def skew_of(
    reason_value: str | None, times: Sequence[TimeClaim], now: datetime, leeway: timedelta
) -> ClockSkew | None:
    """Whether a token's failure (or near-failure) looks like clock skew.

    * iat or nbf ahead of now by more than the leeway but at most `SKEW_LIMIT`: the
      issuer's clock is ahead of this host's by about that much;
    * exp passed while iat is at most `SKEW_LIMIT` old: a short-lived token that expired
      on arrival, so the issuer's clock is behind by about the token's age;
    * a verified token with iat or nbf ahead within the leeway: the gap already exists.
    """
    found = {t.name: t for t in times if t.seconds_from_now is not None}
    lee, limit = leeway.total_seconds(), SKEW_LIMIT.total_seconds()
    lw = human_duration(lee)
    ahead = [t for n, t in found.items() if n in ("iat", "nbf") and t.seconds_from_now]
    ahead = [t for t in ahead if (t.seconds_from_now or 0) > 0]
    if reason_value in ("issued_in_future", "not_yet_valid"):
        worst = max(ahead, key=lambda t: t.seconds_from_now or 0.0, default=None)
        if worst is None or not lee < (worst.seconds_from_now or 0) <= limit:
            return None
        off = worst.seconds_from_now or 0.0
        return ClockSkew(
            off,
            True,
            f"likely clock skew between issuer and verifier: the token's {worst.name} is "
            f"{human_duration(off)} ahead of this host's clock (leeway {lw}), so the issuer's "
            f"clock runs about {human_duration(off)} ahead of this host's (or this host's "
            f"is behind). {_HINT}",
        )
    if reason_value == "expired" and "iat" in found and "exp" in found:
        age = -(found["iat"].seconds_from_now or 0.0)
        late = -(found["exp"].seconds_from_now or 0.0)
        if not 0 <= age <= limit:
            return None
        return ClockSkew(
            -age,
            True,
            f"likely clock skew between issuer and verifier: the token was issued only "
            f"{human_duration(age)} ago by the issuer's clock, yet expired {human_duration(late)} "
            f"ago (leeway {lw}): the issuer's clock is probably about {human_duration(age)} "
            f"behind this host's, if the token was used right after it was issued (otherwise "
            f"the client held a short-lived token too long). {_HINT}",
        )
    if reason_value is None and ahead:
        worst = max(ahead, key=lambda t: t.seconds_from_now or 0.0)
        off = worst.seconds_from_now or 0.0
        return ClockSkew(
            off,
            False,
            f"warning: the token's {worst.name} is {human_duration(off)} ahead of this host's "
            f"clock (within the leeway of {lw}): the issuer's clock runs ahead. {_HINT}",
        )
    return None
