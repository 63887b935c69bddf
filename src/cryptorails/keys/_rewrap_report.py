"""What a rewrap pass did: `RewrapReport`, and the running counts (`Tally`) that a
checkpoint carries from one run of a pass to the next."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptorails.context import Context
from cryptorails.errors import ConfigurationError, Reason
from cryptorails.keys._sources import RowKey, decode_key, encode_key

__all__ = ["MAX_SAMPLES", "RewrapReport", "Tally", "report"]

MAX_SAMPLES = 5


@dataclass(frozen=True)
class RewrapReport:
    """What a rewrap pass did. Counts cover the whole pass, earlier (interrupted) runs of
    it included; `scanned_this_run`, `seconds` and `rows_per_second` cover this run.

    Attributes:
        source: the dataset name (no credentials).
        job: the job name the checkpoint is kept under.
        rows_scanned: rows read in the pass.
        rewrapped: rows rewritten under the primary.
        already_current: rows whose header already named the primary (not decrypted).
        changed_meanwhile: rows the application changed between read and write (left as
            the application wrote them).
        changed_not_current: of those, rows whose new value is not under the primary.
        null_values: rows with NULL in the blob column (nothing to rewrap).
        failed: rows that did not open, by reason (left unchanged).
        failed_samples: up to five row keys per reason.
        kids_before: blobs per key id as read (headers only).
        kids_after: blobs per key id as left by the pass.
        usage_after: `kids_after` per keyset.
        seconds: how long this run took.
        rows_per_second: rows this run read, per second.
        scanned_this_run: rows this run read.
        resumed_from: the key after which this run resumed, or None for a fresh pass.
        batch_size: rows per transaction.
    """

    source: str
    job: str
    rows_scanned: int
    rewrapped: int
    already_current: int
    changed_meanwhile: int
    changed_not_current: int
    null_values: int
    failed: Mapping[Reason, int]
    failed_samples: Mapping[Reason, tuple[RowKey, ...]]
    kids_before: Mapping[int, int]
    kids_after: Mapping[int, int]
    usage_after: Mapping[Context, Mapping[int, int]]
    seconds: float
    rows_per_second: float
    scanned_this_run: int
    resumed_from: RowKey | None
    batch_size: int

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def complete(self) -> bool:
        """True when every blob the pass saw is now under its keyset's primary."""
        return self.failed_total == 0 and self.changed_not_current == 0

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (reasons by name; byte keys as ``{"hex": ...}``)."""
        return {
            "source": self.source,
            "job": self.job,
            "rows_scanned": self.rows_scanned,
            "rewrapped": self.rewrapped,
            "already_current": self.already_current,
            "changed_meanwhile": self.changed_meanwhile,
            "changed_not_current": self.changed_not_current,
            "null_values": self.null_values,
            "failed": {r.value: n for r, n in self.failed.items()},
            "failed_samples": {
                r.value: [_json_key(k) for k in keys] for r, keys in self.failed_samples.items()
            },
            "kids_before": {str(k): n for k, n in sorted(self.kids_before.items())},
            "kids_after": {str(k): n for k, n in sorted(self.kids_after.items())},
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "scanned_this_run": self.scanned_this_run,
            "resumed_from": _json_key(self.resumed_from),
            "batch_size": self.batch_size,
            "complete": self.complete,
        }


@dataclass
class Tally:
    """Running counts of a pass, as kept in the checkpoint record."""

    scanned: int = 0
    rewrapped: int = 0
    current: int = 0
    changed: int = 0
    changed_not_current: int = 0
    null: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[Any]] = field(default_factory=dict)
    before: dict[str, Counter[int]] = field(default_factory=dict)
    after: dict[str, Counter[int]] = field(default_factory=dict)

    def fail(self, reason: Reason, key: RowKey) -> None:
        self.failed[reason.value] += 1
        keys = self.samples.setdefault(reason.value, [])
        if len(keys) < MAX_SAMPLES:
            keys.append(encode_key(key))

    def merged(self, other: Tally) -> Tally:
        out = Tally.from_json(self.to_json())
        for name in ("scanned", "rewrapped", "current", "changed", "changed_not_current", "null"):
            setattr(out, name, getattr(out, name) + getattr(other, name))
        out.failed.update(other.failed)
        for reason, keys in other.samples.items():
            room = MAX_SAMPLES - len(out.samples.get(reason, []))
            if room > 0:
                out.samples.setdefault(reason, []).extend(keys[:room])
        for mine, theirs in ((out.before, other.before), (out.after, other.after)):
            for tenant, kids in theirs.items():
                mine.setdefault(tenant, Counter()).update(kids)
        return out

    def to_json(self) -> dict[str, Any]:
        counts = {n: getattr(self, n) for n in ("scanned", "rewrapped", "current", "changed")}
        return {
            **counts,
            "changed_not_current": self.changed_not_current,
            "null": self.null,
            "failed": dict(self.failed),
            "samples": {r: list(keys) for r, keys in self.samples.items()},
            "before": {t: {str(k): n for k, n in c.items()} for t, c in self.before.items()},
            "after": {t: {str(k): n for k, n in c.items()} for t, c in self.after.items()},
        }

    @classmethod
    def from_json(cls, data: Any) -> Tally:
        try:
            return cls(
                **{n: int(data[n]) for n in ("scanned", "rewrapped", "current", "changed")},
                changed_not_current=int(data["changed_not_current"]),
                null=int(data["null"]),
                failed=Counter({Reason(r).value: int(n) for r, n in data["failed"].items()}),
                samples={Reason(r).value: list(keys) for r, keys in data["samples"].items()},
                before={
                    t: Counter({int(k): int(n) for k, n in c.items()})
                    for t, c in data["before"].items()
                },
                after={
                    t: Counter({int(k): int(n) for k, n in c.items()})
                    for t, c in data["after"].items()
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ConfigurationError("the rewrap checkpoint holds malformed counts") from None


def _json_key(key: RowKey | None) -> Any:
    """A row key for reports: numbers and text as they are, bytes as hex."""
    if isinstance(key, bytes):
        return {"hex": key.hex()}
    return key


def report(
    name: str,
    job: str,
    t: Tally,
    usage: dict[Context, Counter[int]],
    seconds: float,
    this_run: int,
    resumed_from: RowKey | None,
    batch_size: int,
) -> RewrapReport:
    """The report of a pass from its counts (`t`) and this run's figures."""
    before: Counter[int] = Counter()
    after: Counter[int] = Counter()
    for kids in t.before.values():
        before.update(kids)
    for kids in t.after.values():
        after.update(kids)
    return RewrapReport(
        source=name,
        job=job,
        rows_scanned=t.scanned,
        rewrapped=t.rewrapped,
        already_current=t.current,
        changed_meanwhile=t.changed,
        changed_not_current=t.changed_not_current,
        null_values=t.null,
        failed={Reason(r): n for r, n in t.failed.items()},
        failed_samples={
            Reason(r): tuple(k for k in map(decode_key, keys) if k is not None)
            for r, keys in t.samples.items()
        },
        kids_before=dict(before),
        kids_after=dict(after),
        usage_after={c: dict(k) for c, k in usage.items()},
        seconds=seconds,
        rows_per_second=this_run / seconds if seconds > 0 else 0.0,
        scanned_this_run=this_run,
        resumed_from=resumed_from,
        batch_size=batch_size,
    )
