"""The key ledger: facts about keys that must outlive the keystore.

Two kinds of record live here, in a `Store` (SQLite file, Redis or PostgreSQL) kept apart
from the keystore and from its backups:

* tombstones: a tenant was shredded. Restoring a keystore backup taken before the shred
  brings the wrapped keys back as files; the tombstone is what keeps them dead, because a
  `Keyring` opened with the ledger refuses every keyset of a tombstoned tenant.
* usage: which datasets and backups hold data sealed under which keys (kids and counts),
  written by usage scans, rewrap runs and `BackupSealer`. It answers "what becomes
  readable if this key leaks" (`cryptorails keys blast-radius`).

Records hold names, key ids and counts, never key material.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from cryptorails.clock import Clock, SystemClock
from cryptorails.context import Context, validate_label
from cryptorails.errors import ConfigurationError
from cryptorails.stores import Store, open_store

__all__ = ["Ledger", "Tombstone", "Usage"]

NAMESPACE = "cryptorails.ledger"
_MAX_ATTEMPTS = 100
T = TypeVar("T")


@dataclass(frozen=True)
class Tombstone:
    """A shredded tenant: its keys must never open again, whatever the keystore holds."""

    environment: str
    tenant: str
    shredded_at: datetime
    contexts: tuple[Context, ...]
    kids: tuple[int, ...]
    note: str = ""


@dataclass(frozen=True)
class Usage:
    """Data sealed under some keys of one keyset, in one dataset or backup.

    Attributes:
        context: the keyset's tenant and purpose.
        dataset: a stable name (``sqlite:///db.sqlite#users.email``, a backup id, ...).
        kind: ``dataset`` or ``backup``.
        kids: key id -> number of blobs under it when last counted.
        location: where the data lives (a path or URL without credentials).
        updated_at: when this record was last written.
    """

    context: Context
    dataset: str
    kind: str
    kids: Mapping[int, int]
    location: str
    updated_at: datetime


class Ledger:
    """Tombstones and key usage in a store outside the keystore.

    Args:
        store: where the records live; open one with `Ledger.open(url)`.
        clock: the wall clock for record times.
    """

    def __init__(self, store: Store, *, clock: Clock | None = None) -> None:
        if not isinstance(store, Store):
            raise TypeError("Ledger needs a cryptorails Store")
        self._store = store
        self._clock: Clock = clock or SystemClock()

    @classmethod
    def open(cls, url: str, *, clock: Clock | None = None) -> Ledger:
        """Open the ledger at a store URL (``sqlite:///var/lib/app/ledger.db``, ...).

        Keep it outside the keystore folder and outside the keystore's backups: a ledger
        restored together with an old keystore would forget the tombstones written since.
        """
        return cls(open_store(url, namespace=NAMESPACE), clock=clock)

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tombstones --------------------------------------------------------------------

    def add_tombstone(
        self,
        environment: str,
        tenant: str,
        contexts: Iterable[Context],
        kids: Iterable[int],
        *,
        note: str = "",
    ) -> Tombstone:
        """Record that `tenant` is shredded; keeps the first record if one exists."""
        validate_label("environment", environment)
        validate_label("tenant", tenant)
        record = {
            "environment": environment,
            "tenant": tenant,
            "shredded_at": self._clock.now().astimezone(UTC).isoformat(),
            "contexts": sorted([c.tenant, c.purpose] for c in contexts),
            "kids": sorted(set(kids)),
            "note": note,
        }
        # Absent -> record, never expiring; an existing tombstone is kept as it is.
        self._store.compare_and_set(_tomb_key(environment, tenant), None, _dump(record), None)
        self._update_json(
            f"tombstones/{environment}", lambda names: sorted({*names, tenant}), default=[]
        )
        found = self.tombstone(environment, tenant)
        assert found is not None  # just written; tombstones are never deleted
        return found

    def tombstone(self, environment: str, tenant: str) -> Tombstone | None:
        """The tombstone of `tenant` in `environment`, or None."""
        raw = self._store.get(_tomb_key(environment, tenant))
        return None if raw is None else _tombstone(_load(raw))

    def tombstones(self, environment: str) -> list[Tombstone]:
        """Every tombstone of `environment`, oldest first."""
        names: list[str] = self._get_json(f"tombstones/{environment}", [])
        found = [t for t in (self.tombstone(environment, n) for n in names) if t is not None]
        return sorted(found, key=lambda t: t.shredded_at)

    # -- usage -------------------------------------------------------------------------

    def record_usage(
        self,
        environment: str,
        ctx: Context,
        dataset: str,
        kids: Mapping[int, int],
        *,
        kind: str = "dataset",
        location: str = "",
    ) -> None:
        """Record (replacing any earlier count) how many blobs of `dataset` each key sealed.

        A count of zero removes that key from the dataset's record; an empty mapping
        removes the record.
        """
        if kind not in ("dataset", "backup"):
            raise ValueError("kind must be 'dataset' or 'backup'")
        if not isinstance(dataset, str) or not dataset:
            raise ValueError("dataset must be a non-empty str")
        counts = {str(int(k)): int(n) for k, n in kids.items() if n}
        entry = {
            "kind": kind,
            "kids": counts,
            "location": location,
            "updated_at": self._clock.now().astimezone(UTC).isoformat(),
        }

        def change(doc: dict[str, Any]) -> dict[str, Any]:
            doc = dict(doc)
            if counts:
                doc[dataset] = entry
            else:
                doc.pop(dataset, None)
            return doc

        self._update_json(_usage_key(environment, ctx), change, default={})
        self._update_json(
            f"usage-index/{environment}",
            lambda pairs: sorted({*map(tuple, pairs), (ctx.tenant, ctx.purpose)}),
            default=[],
        )

    def usage(self, environment: str, ctx: Context | None = None) -> list[Usage]:
        """Usage records of one keyset, or of every keyset of `environment`."""
        if ctx is None:
            pairs: list[list[str]] = self._get_json(f"usage-index/{environment}", [])
            contexts = [Context(t, p) for t, p in pairs]
        else:
            contexts = [ctx]
        found = []
        for c in contexts:
            doc: dict[str, Any] = self._get_json(_usage_key(environment, c), {})
            for dataset, e in sorted(doc.items()):
                found.append(
                    Usage(
                        context=c,
                        dataset=dataset,
                        kind=e["kind"],
                        kids={int(k): int(n) for k, n in e["kids"].items()},
                        location=e["location"],
                        updated_at=datetime.fromisoformat(e["updated_at"]),
                    )
                )
        return found

    # -- helpers -----------------------------------------------------------------------

    def _get_json(self, key: str, default: T) -> T:
        raw = self._store.get(key)
        return default if raw is None else _load(raw)

    def _update_json(self, key: str, change: Callable[[Any], Any], *, default: Any) -> None:
        """Read-modify-write one JSON document with compare-and-set, retrying on races."""
        for _ in range(_MAX_ATTEMPTS):
            raw = self._store.get(key)
            new = _dump(change(default if raw is None else _load(raw)))
            if new == raw or self._store.compare_and_set(key, raw, new, None):
                return
        raise ConfigurationError(f"ledger record {key} kept changing; try again")


def _tomb_key(environment: str, tenant: str) -> str:
    return f"tombstone/{environment}/{tenant}"


def _usage_key(environment: str, ctx: Context) -> str:
    return f"usage/{environment}/{ctx.tenant}/{ctx.purpose}"


def _dump(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _load(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ConfigurationError("the ledger holds a record that is not JSON") from None


def _tombstone(data: dict[str, Any]) -> Tombstone:
    try:
        return Tombstone(
            environment=data["environment"],
            tenant=data["tenant"],
            shredded_at=datetime.fromisoformat(data["shredded_at"]),
            contexts=tuple(Context(t, p) for t, p in data["contexts"]),
            kids=tuple(int(k) for k in data["kids"]),
            note=str(data.get("note", "")),
        )
    except (KeyError, TypeError, ValueError):
        raise ConfigurationError("the ledger holds a malformed tombstone") from None
