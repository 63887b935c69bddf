"""Rotation that moves the data: `rewrap` a source onto the current primary, and count
which keys a source's blobs are under (`usage_scan`).

`rewrap` reads a source in key order, in batches. A blob whose header already names the
primary key of its keyset is counted as current and left alone (no decryption: a pass
over rotated data costs a read). Every other blob goes through `Sealer.rewrap`, the one
path that also opens blobs under a compromised key, and is written back with
compare-and-swap. A batch's writes and the checkpoint (last key done, running counts)
are committed together, so a run stopped by a crash or Ctrl-C resumes after the last
committed batch and never rewraps a committed row again. A blob that does not open
(another tenant, a destroyed key, garbage) is left as it is and counted by reason; it
never stops the run.

Headers are read before anything is authenticated (as `read_header` does): they are good for
counting and skipping, never for trusting. A forged header that names the primary makes
a row count as current; it still does not open.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptorails.aead._format import HEADER_SIZE, VERSION, header
from cryptorails.algorithms import Algorithm, KeyKind
from cryptorails.context import Context, validate_label
from cryptorails.errors import ConfigurationError, DecryptionError, Reason
from cryptorails.keys._ledger import Ledger
from cryptorails.keys._rewrap_report import RewrapReport, Tally, report
from cryptorails.keys._sources import (
    BlobSource,
    Outcome,
    Row,
    RowKey,
    Update,
    aad_bytes,
    check_job,
    decode_key,
    encode_key,
    tenant_label,
)

if TYPE_CHECKING:
    # Only for types: the sealer module imports this package.
    from cryptorails.aead.sealer import Sealer

__all__ = ["RewrapReport", "rewrap", "usage_scan"]

MAX_BATCH = 100_000
CHECKPOINT_INTERVAL = 2.0  # seconds between checkpoints of batches that write nothing
_RECORD_VERSION = 1


# The checks `read_header` makes (version, an AEAD algorithm id), on the raw bytes: this
# runs once per row of every pass and scan.
_AEAD_WIRE_IDS = frozenset(a.wire_id for a in Algorithm if a.kind is KeyKind.AEAD)


def _kid(blob: object) -> int | None:
    """The key id a blob's (unverified) header names, if it is a cryptorails blob header."""
    if not isinstance(blob, bytes | bytearray | memoryview) or len(blob) < HEADER_SIZE:
        return None
    if blob[0] != VERSION or blob[1] not in _AEAD_WIRE_IDS:
        return None
    return int.from_bytes(blob[2:HEADER_SIZE], "big")


def _context(
    row: Row, purpose: str, tenant: str | None, cache: dict[object, Context | None]
) -> Context | None:
    """The keyset a row belongs to: the fixed tenant's, or the one its tenant column
    names (None when that is not a valid label). Remembered per raw value: labels are
    checked character by character, and a table has few tenants."""
    raw = tenant if tenant is not None else row.tenant
    try:
        return cache[raw]
    except KeyError:
        pass
    except TypeError:  # an unhashable value: never a valid tenant
        return None
    name = tenant_label(raw)
    ctx = cache[raw] = None if name is None else Context(name, purpose)
    return ctx


def _check_common(source: object, purpose: str, tenant: str | None) -> BlobSource:
    if not isinstance(source, BlobSource):
        raise TypeError("source must be a BlobSource (SqlColumn, FileDirectory, ...)")
    validate_label("purpose", purpose)
    if tenant is not None:
        validate_label("tenant", tenant)
    if source.per_row_tenant and tenant is not None:
        raise ConfigurationError(
            f"{source.name} names each row's tenant (a tenant column); do not pass tenant="
        )
    if not source.per_row_tenant and tenant is None:
        raise ConfigurationError(f"{source.name} has no tenant column: pass tenant=")
    return source


def usage_scan(
    source: BlobSource,
    *,
    purpose: str,
    tenant: str | None = None,
    batch_size: int = 5000,
    ledger: Ledger | None = None,
    environment: str | None = None,
) -> dict[Context, Counter[int]]:
    """Count the blobs of `source` per keyset and key id, from their headers only.

    Rows that are NULL, not bytes, not a cryptorails blob, or (with a tenant column)
    name no valid tenant are not counted. With `ledger`, the counts are recorded for
    `environment` under ``source.name`` (replacing earlier counts of this dataset).

    Raises:
        ConfigurationError: tenant given with a tenant column, or missing without one;
            `ledger` without `environment`.
    """
    _check_common(source, purpose, tenant)
    if ledger is not None and environment is None:
        raise ConfigurationError("recording a usage scan in a ledger needs its environment")
    if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be an int from 1 to {MAX_BATCH}")
    found: dict[Context, Counter[int]] = {}
    if tenant is not None:
        found[Context(tenant, purpose)] = Counter()
    contexts: dict[object, Context | None] = {}
    for batch in source.rows(None, batch_size, header_only=True):
        for row in batch:
            kid = _kid(row.value)
            ctx = _context(row, purpose, tenant, contexts)
            if kid is None or ctx is None:
                continue
            kids = found.get(ctx)
            if kids is None:
                kids = found[ctx] = Counter()
            kids[kid] += 1
    if ledger is not None and environment is not None:
        for ctx, kids in found.items():
            ledger.record_usage(environment, ctx, source.name, kids, location=source.location)
    return found


def rewrap(
    sealer: Sealer,
    source: BlobSource,
    *,
    purpose: str,
    tenant: str | None = None,
    batch_size: int = 1000,
    progress: Callable[[int], object] | None = None,
    job: str = "default",
    ledger: Ledger | None = None,
    restart: bool = False,
) -> RewrapReport:
    """Move every blob of `source` under the current primary key of its keyset.

    Args:
        sealer: opens and seals (its keyring decides the primary and the environment).
        source: where the blobs are (`SqlColumn`, `FileDirectory`).
        purpose: the purpose the blobs were sealed for.
        tenant: the one tenant of a source without a tenant column.
        batch_size: rows per transaction (and per checkpoint).
        progress: called after every batch, once its writes are committed, with the
            number of rows it held (and once at the start of a resumed run, with the
            rows done before).
        job: names the checkpoint; a stopped job resumes where it stopped, a finished
            one starts a new pass. A batch with nothing to write is checkpointed at
            most every `CHECKPOINT_INTERVAL` seconds: a resumed run may read a few
            current rows again, never rewrap one twice.
        ledger: if given, the final counts per keyset are recorded under ``source.name``.
        restart: ignore an unfinished checkpoint and start a new pass.

    Raises:
        ConfigurationError: bad tenant arguments for this source; a stopped run of
            `job` used other settings (finish it with them, restart, or use another job
            name); another run took the job over meanwhile.
        PolicyError: the primary may not seal (usage budget spent without auto-rotate).
        StoreUnavailable: the database failed; committed batches are kept.
    """
    from cryptorails.aead.sealer import Sealer

    if not isinstance(sealer, Sealer):
        raise TypeError("sealer must be a cryptorails Sealer")
    _check_common(source, purpose, tenant)
    check_job(job)
    if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be an int from 1 to {MAX_BATCH}")
    if ledger is not None and not isinstance(ledger, Ledger):
        raise TypeError("ledger must be a cryptorails Ledger")
    spec = {"purpose": purpose, "tenant": tenant, "binding": source.binding}
    tally, after = Tally(), None
    record = source.load_progress(job)
    if record is not None and not record.get("done", True) and not restart:
        if record.get("version") != _RECORD_VERSION or record.get("spec") != spec:
            raise ConfigurationError(
                f"rewrap job {job!r} on {source.name} stopped part-way with other settings "
                f"({record.get('spec')}); rerun it with those, restart it, or use another "
                "job name"
            )
        tally = Tally.from_json(record.get("tally"))
        after = decode_key(record.get("last_key"))
    resumed_from = after
    run = secrets.token_hex(8)

    def state(t: Tally, last: RowKey | None, done: bool) -> dict[str, Any]:
        return {
            "version": _RECORD_VERSION,
            "run": run,
            "spec": spec,
            "last_key": encode_key(last),
            "done": done,
            "tally": t.to_json(),
        }

    # Claim the job: a run still going on elsewhere fails at its next commit.
    source.save_progress(job, state(tally, after, False), run=None)
    if progress is not None and tally.scanned:
        progress(tally.scanned)
    started = saved = time.monotonic()
    this_run = 0
    contexts: dict[object, Context | None] = {}
    for rows in source.rows(after, batch_size):
        batch, updates, pending = _process(sealer, rows, purpose, tenant, contexts)
        staged = _Staged(tally, batch, pending, rows[-1].key, state)
        if updates or time.monotonic() - saved >= CHECKPOINT_INTERVAL:
            source.commit(job, updates, staged, run=run)
            saved = time.monotonic()
        else:
            # Nothing to write: the checkpoint may lag (a rerun rescans a few current
            # rows, which costs a read each), and a pass over current data is not
            # slowed down by one durable commit per batch.
            staged([])
        if staged.result is None:
            raise ConfigurationError(f"{source.name} committed a batch without its checkpoint")
        tally = staged.result
        this_run += len(rows)
        if progress is not None:
            progress(len(rows))
    seconds = time.monotonic() - started
    source.save_progress(job, state(tally, None, True), run=run)
    usage = {Context(t, purpose): kids for t, kids in tally.after.items()}
    if tenant is not None:
        usage.setdefault(Context(tenant, purpose), Counter())
    if ledger is not None:
        env = sealer.keyring.environment
        for ctx, kids in usage.items():
            ledger.record_usage(env, ctx, source.name, kids, location=source.location)
    return report(source.name, job, tally, usage, seconds, this_run, resumed_from, batch_size)


class _Staged:
    """Builds a batch's checkpoint from its updates' outcomes, inside the transaction that
    writes both; `result` holds the counts it stored."""

    def __init__(
        self,
        base: Tally,
        batch: Tally,
        pending: list[tuple[str, int]],
        last: RowKey,
        state: Callable[[Tally, RowKey | None, bool], dict[str, Any]],
    ) -> None:
        self._base, self._batch, self._pending = base, batch, pending
        self._last, self._state = last, state
        self.result: Tally | None = None

    def __call__(self, outcomes: list[Outcome]) -> dict[str, Any]:
        t = self._base.merged(self._batch)
        for outcome, (name, new_kid) in zip(outcomes, self._pending, strict=True):
            _settle(t, outcome, name, new_kid)
        self.result = t
        return self._state(t, self._last, False)


def _process(
    sealer: Sealer,
    rows: list[Row],
    purpose: str,
    tenant: str | None,
    contexts: dict[object, Context | None],
) -> tuple[Tally, list[Update], list[tuple[str, int]]]:
    """Decide every row of a batch: current, failed, or an update to write.

    Returns the batch's counts (without the updates' outcomes), the updates, and for
    each update its tenant and new kid (the primary's).
    """
    t = Tally()
    updates: list[Update] = []
    pending: list[tuple[str, int]] = []
    primaries: dict[Context, tuple[bytes, int] | None] = {}  # per batch: rotation is seen
    for row in rows:
        t.scanned += 1
        if row.value is None:
            t.null += 1
            continue
        ctx = _context(row, purpose, tenant, contexts)
        if ctx is None:
            t.fail(Reason.UNKNOWN_TENANT, row.key)
            continue
        name = ctx.tenant
        if not isinstance(row.value, bytes | bytearray | memoryview):
            t.fail(Reason.WRONG_TYPE, row.key)
            continue
        blob = bytes(row.value)
        kid = _kid(blob)
        if kid is not None:
            _bump(t.before, name, kid)
        if ctx not in primaries:
            primaries[ctx] = _primary(sealer, ctx)
        primary = primaries[ctx]
        if primary is not None and blob[:HEADER_SIZE] == primary[0]:
            t.current += 1
            _bump(t.after, name, primary[1])
            continue
        aad = aad_bytes(row.aad)
        try:
            if aad is None:
                raise DecryptionError(Reason.WRONG_TYPE)
            new = sealer.rewrap(blob, ctx, aad)
        except DecryptionError as e:
            t.fail(e.reason, row.key)
            if kid is not None:
                _bump(t.after, name, kid)
            continue
        new_kid = int.from_bytes(new[2:HEADER_SIZE], "big")
        if new == blob:  # already under a primary that changed during this batch
            t.current += 1
            _bump(t.after, name, new_kid)
            continue
        updates.append(Update(row.key, blob, new))
        pending.append((name, new_kid))
    return t, updates, pending


def _bump(counts: dict[str, Counter[int]], tenant: str, kid: int) -> None:
    kids = counts.get(tenant)
    if kids is None:
        kids = counts[tenant] = Counter()
    kids[kid] += 1


def _settle(t: Tally, outcome: Outcome, name: str, new_kid: int) -> None:
    """Count one update's outcome into `t`."""
    if outcome.applied:
        t.rewrapped += 1
        _bump(t.after, name, new_kid)
        return
    t.changed += 1
    kid = _kid(outcome.current)
    if kid is not None:
        _bump(t.after, name, kid)
    if outcome.current is not None and kid != new_kid:
        t.changed_not_current += 1


def _primary(sealer: Sealer, ctx: Context) -> tuple[bytes, int] | None:
    """The header and kid of the primary of `ctx`'s keyset, if it has an AEAD keyset.
    Never creates a keyset (a row of an unknown tenant must not make one)."""
    keyset = sealer.keyring.find_keyset(ctx)
    if keyset is None or keyset.primary.algorithm.kind is not KeyKind.AEAD:
        return None
    return header(keyset.primary.algorithm, keyset.primary.kid), keyset.primary.kid
