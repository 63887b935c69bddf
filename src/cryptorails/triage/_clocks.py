"""Clock skew between this host and HTTP servers, read from their ``Date`` headers.

Tokens, signed webhooks and replay windows all compare a timestamp made on one host with
the clock of another. When those clocks disagree by more than the allowed leeway, valid
messages are refused (or stale ones accepted). Every HTTP origin server with a clock sends
its time in the ``Date`` header (RFC 9110 §6.6.1), so asking each server costs nothing.

Estimator. ``Date`` is the server's clock truncated to the second (RFC 9110 §5.6.7), made
between the moment our request left (local wall time t0) and the moment its response
headers arrived (t0 + round trip). So the server's clock was somewhere in [D, D + 1)
while ours was somewhere in [t0, t0 + rtt], and the offset (server minus local) lies in

    (D - t0 - rtt,  D + 1 - t0)

an interval of width 1 + rtt: centre D + 0.5 - (t0 + rtt/2), uncertainty ± (rtt/2 + 0.5).
Each further sample gives another such interval, and the true offset lies in all of them:
the estimate is the centre of their intersection. Samples are spaced 1/N s apart, so the
second boundaries fall at different points of each window and N samples narrow the
width to about 1/N + rtt. Some servers refresh a cached ``Date`` string only once a
second, so intersections that miss each other by up to `DATE_LAG` are taken as one (the
gap is spanned); a larger gap means the samples disagree — several backends with
different clocks behind one URL, or a clock step during the probe — and is a finding.
"""

from __future__ import annotations

import calendar
import http.client
import re
import ssl
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ClockReport",
    "ServerClock",
    "check_clocks",
    "estimate_offset",
    "parse_http_date",
    "probe_clock",
]

DATE_LAG = 1.0
_MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MON = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"([0-9]{2}):([0-9]{2}):([0-9]{2})"
# RFC 9110 §5.6.7: IMF-fixdate (what senders must generate) and, for recipients, the
# obsolete rfc850-date and asctime-date forms.
_IMF = re.compile(rf"({'|'.join(_DAYS)}), ([0-9]{{2}}) {_MON} ([0-9]{{4}}) {_TIME} GMT")
_RFC850 = re.compile(rf"({'|'.join(_LONG_DAYS)}), ([0-9]{{2}})-{_MON}-([0-9]{{2}}) {_TIME} GMT")
_ASCTIME = re.compile(rf"({'|'.join(_DAYS)}) {_MON} ([0-9 ][0-9]) {_TIME} ([0-9]{{4}})")
_USER_AGENT = "cryptorails-triage-clocks"


def parse_http_date(text: str, *, now: float | None = None) -> tuple[int, bool] | None:
    """An HTTP-date as Unix seconds, and whether it used an obsolete format; else None.

    Accepts the three forms of RFC 9110 §5.6.7 exactly (case and spacing included), and
    refuses impossible dates and a weekday that does not match the date.

    Args:
        now: rfc850-date years have two digits; one that looks more than 50 years
            ahead of `now` (default: the local clock) is the century before (§5.6.7).
    """
    if m := _IMF.fullmatch(text):
        wday, day, mon, year, hh, mm, ss = m.groups()
        obsolete, weekday = False, _DAYS.index(wday)
    elif m := _RFC850.fullmatch(text):
        wday, day, mon, yy, hh, mm, ss = m.groups()
        current = time.gmtime(time.time() if now is None else now).tm_year
        year = str(current - current % 100 + int(yy))
        if int(year) > current + 50:
            year = str(int(year) - 100)
        obsolete, weekday = True, _LONG_DAYS.index(wday)
    elif m := _ASCTIME.fullmatch(text):
        wday, mon, day, hh, mm, ss, year = m.groups()
        obsolete, weekday = True, _DAYS.index(wday)
    else:
        return None
    leap = ss == "60"  # a leap second: the second after :59
    try:
        moment = datetime(
            int(year), _MONTHS[mon], int(day), int(hh), int(mm), 59 if leap else int(ss), tzinfo=UTC
        )
    except ValueError:
        return None
    if moment.weekday() != weekday:
        return None
    return int(moment.timestamp()) + leap, obsolete


@dataclass(frozen=True)
class ServerClock:
    """One server's clock against ours. `error` is set when no offset could be read."""

    url: str
    offset: float | None
    """Server minus local, in seconds (positive: the server is ahead)."""
    uncertainty: float | None
    round_trip: float | None
    """The shortest round trip of the samples, in seconds."""
    date: str | None
    """The last ``Date`` header seen, as sent."""
    samples: int
    method: str
    error: str | None = None
    notes: tuple[str, ...] = ()

    def exceeds(self, max_skew: float) -> bool:
        """Whether the offset is beyond `max_skew` even at the edge of its uncertainty."""
        if self.offset is None or self.uncertainty is None:
            return False
        return abs(self.offset) - self.uncertainty > max_skew


@dataclass(frozen=True)
class ClockReport:
    """Every server's clock, the largest spread between two, and the verdict."""

    servers: tuple[ServerClock, ...]
    max_skew: float

    @property
    def spread(self) -> tuple[ServerClock, ServerClock, float, float] | None:
        """(most ahead, most behind, difference, its uncertainty), from two servers on."""
        timed = [
            (s.offset, s.uncertainty, s)
            for s in self.servers
            if s.offset is not None and s.uncertainty is not None
        ]
        if len(timed) < 2:
            return None
        ahead, behind = max(timed, key=lambda t: t[0]), min(timed, key=lambda t: t[0])
        return ahead[2], behind[2], ahead[0] - behind[0], ahead[1] + behind[1]

    @property
    def problems(self) -> list[str]:
        """One line per server that is unreachable, has no usable Date, or is skewed, and
        one for two servers too far apart from each other: each may pass against this
        host while a timestamp made on one is refused by the other."""
        found = []
        for s in self.servers:
            if s.error is not None:
                found.append(f"{s.url}: {s.error}")
            elif s.exceeds(self.max_skew):
                found.append(
                    f"{s.url}: {s.offset:+.1f} s from this host, beyond the allowed "
                    f"{self.max_skew:g} s even at the edge of ±{s.uncertainty:.1f} s"
                )
        spread = self.spread
        if spread is not None and spread[2] - spread[3] > self.max_skew:
            ahead, behind, diff, unc = spread
            found.append(
                f"{ahead.url} is {diff:.1f} s ± {unc:.1f} s ahead of {behind.url}, beyond the "
                f"allowed {self.max_skew:g} s: a timestamp made on one can be refused by the other"
            )
        return found

    @property
    def clean(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        spread = self.spread
        return {
            "clean": self.clean,
            "max_skew": self.max_skew,
            "servers": [
                {
                    "url": s.url,
                    "offset": s.offset,
                    "uncertainty": s.uncertainty,
                    "round_trip": s.round_trip,
                    "date": s.date,
                    "samples": s.samples,
                    "method": s.method,
                    "skewed": s.exceeds(self.max_skew),
                    "error": s.error,
                    "notes": list(s.notes),
                }
                for s in self.servers
            ],
            "spread": None
            if spread is None
            else {
                "ahead": spread[0].url,
                "behind": spread[1].url,
                "difference": spread[2],
                "uncertainty": spread[3],
            },
            "problems": self.problems,
        }


def check_url(url: str) -> str | None:
    """Why `url` cannot be probed (not http/https, no host), or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        return f"{url!r} is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http:// or https:// URL with a host"
    if "@" in parts.netloc:
        # Kept out of reports and logs; and not needed: every response carries a Date,
        # a 401 included (RFC 9110 §6.6.1).
        return "drop the user:password@ part of the URL: even a 401 response has a Date"
    return None


def _request(
    url: str, method: str, timeout: float, context: ssl.SSLContext | None
) -> tuple[float, float, int, list[str], str | None]:
    """(local wall time sent, round trip, status, Date values, Age) of one request."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=context
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        # Connect (and shake hands) first: the window then holds only request and answer.
        conn.connect()
        sent, start = time.time(), time.monotonic()
        conn.request(
            method, target, headers={"User-Agent": _USER_AGENT, "Cache-Control": "no-cache"}
        )
        response = conn.getresponse()
        round_trip = time.monotonic() - start  # monotonic: the wall clock may step
        return (
            sent,
            round_trip,
            response.status,
            response.msg.get_all("Date") or [],
            response.getheader("Age"),
        )
    finally:
        conn.close()


def probe_clock(
    url: str,
    *,
    samples: int = 3,
    timeout: float = 5.0,
    context: ssl.SSLContext | None = None,
    spacing: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ServerClock:
    """Estimate one server's clock offset from `samples` HEAD requests (GET if refused).

    Args:
        context: TLS settings for https URLs (default: the system's verified defaults).
        spacing: seconds between samples (default 1/samples; see the module docstring).

    Raises:
        ValueError: `url` is not an http(s) URL with a host, or samples is below 1.
    """
    why = check_url(url)
    if why is not None:
        raise ValueError(why)
    if samples < 1:
        raise ValueError("samples must be at least 1")
    gap = 1.0 / samples if spacing is None else spacing
    method, notes = "HEAD", []
    taken, readings = 0, []
    rtts: list[float] = []
    date: str | None = None
    while taken < samples:
        if taken:
            sleep(gap)
        try:
            sent, rtt, status, dates, age = _request(url, method, timeout, context)
        except (OSError, http.client.HTTPException) as e:
            return ServerClock(
                url, None, None, None, date, taken, method, f"unreachable: {_describe(e)}"
            )
        if method == "HEAD" and status in (405, 501) and not taken:
            method = "GET"  # HEAD refused: every further sample uses GET
            notes.append(f"HEAD refused ({status}); used GET")
            continue
        taken += 1
        if not dates:
            return ServerClock(url, None, None, rtt, None, taken, method, "no Date header")
        date = dates[-1]
        parsed = parse_http_date(date) if len(set(dates)) == 1 else None
        if parsed is None:
            shown = date if len(set(dates)) == 1 else " / ".join(dates)
            return ServerClock(
                url, None, None, rtt, shown, taken, method, f"invalid Date header {shown!r}"
            )
        if parsed[1] and not any("obsolete" in n for n in notes):
            notes.append("Date uses an obsolete format; RFC 9110 §5.6.7 asks for IMF-fixdate")
        if age is not None and not any("Age" in n for n in notes):
            notes.append(f"answered from a cache (Age: {age}): Date is when the origin made it")
        readings.append((parsed[0], sent, rtt))
        rtts.append(rtt)
    offset, uncertainty, gap = estimate_offset(readings)
    error = None
    if gap > DATE_LAG:
        error = (
            f"the Date headers of {taken} samples contradict each other (their windows "
            f"miss by {gap:.1f} s): several backends with different clocks, or a clock step"
        )
    return ServerClock(
        url, offset, uncertainty, min(rtts), date, taken, method, error, tuple(notes)
    )


def estimate_offset(readings: Sequence[tuple[int, float, float]]) -> tuple[float, float, float]:
    """(offset, uncertainty, gap) from (Date in Unix seconds, local send time, round trip)
    readings, by the interval intersection of the module docstring.

    `gap` is 0 when the windows overlap. Otherwise it is how far they miss each other;
    the estimate then spans the gap when it is within `DATE_LAG` (a Date string cached for
    up to a second) and the hull of all windows beyond that (no honest smaller interval).
    """
    windows = [(date - sent - rtt, date + 1 - sent) for date, sent, rtt in readings]
    lo, hi = max(w[0] for w in windows), min(w[1] for w in windows)
    gap = max(0.0, lo - hi)
    if gap > DATE_LAG:
        lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
    lo, hi = min(lo, hi), max(lo, hi)
    return (lo + hi) / 2, (hi - lo) / 2, gap


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        return f"TLS: {getattr(error, 'reason', None) or error}"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def check_clocks(
    urls: Sequence[str],
    *,
    max_skew: float,
    samples: int = 3,
    timeout: float = 5.0,
    context: ssl.SSLContext | None = None,
) -> ClockReport:
    """Probe every URL (in parallel) and judge their offsets against `max_skew` seconds.

    Raises:
        ValueError: a URL is not http(s) with a host, or samples is below 1.
    """
    for url in urls:
        why = check_url(url)
        if why is not None:
            raise ValueError(why)
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(urls)))) as pool:
        servers = list(
            pool.map(
                lambda u: probe_clock(u, samples=samples, timeout=timeout, context=context), urls
            )
        )
    return ClockReport(tuple(servers), max_skew)
