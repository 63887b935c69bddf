"""Where rewrap runs and usage scans find sealed blobs: the `BlobSource` protocol, the
helpers every source shares, and `open_source` (one string names a source). The sources
are `SqlColumn` (`_sources_sql.py`, `_sources_pg.py`) and `FileDirectory`
(`_sources_dir.py`).

A source lists its blobs in one stable key order, in batches, and writes a batch of
rewrapped blobs back with compare-and-swap: a blob is replaced only if it still holds
the bytes that were read, so a row the application changed meanwhile is never
overwritten with an older plaintext. The batch's writes and the run's checkpoint (a
small JSON record) are stored together, so that a run stopped at any point resumes
after the last batch that was written.

Nothing here decrypts: sources move bytes. Values come back raw (`Row`); turning an aad
or tenant column value into bytes or a label is done in one place, `aad_bytes` and
`tenant_label`, for every source alike.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from cryptorails.context import validate_label
from cryptorails.errors import ConfigurationError
from cryptorails.stores._base import display_url

__all__ = [
    "BlobSource",
    "Outcome",
    "Row",
    "RowKey",
    "Update",
    "aad_bytes",
    "check_job",
    "decode_key",
    "encode_key",
    "open_source",
    "tenant_label",
]

RowKey = int | float | str | bytes
"""A row's key: an integer (rowid, serial), text, a UUID as text, or bytes."""

PROGRESS_TABLE = "cryptorails_rewrap_progress"
_JOB = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")


@dataclass(frozen=True, slots=True)
class Row:
    """One stored blob as read, before anything about it is trusted.

    Attributes:
        key: the row's key (unique in its source).
        value: the stored value: bytes for a blob, None for SQL NULL, anything else
            when the column holds another type.
        aad: the aad column's raw value (None without an aad column).
        tenant: the tenant column's raw value (None without a tenant column).
    """

    key: RowKey
    value: object
    aad: object = None
    tenant: object = None


@dataclass(frozen=True, slots=True)
class Update:
    """Replace `old` by `new` at `key`, only if the row still holds `old`."""

    key: RowKey
    old: bytes
    new: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one `Update`: `applied`, or the value found instead (None: the row
    is gone or NULL)."""

    applied: bool
    current: object = None


# Builds the checkpoint record from the outcomes of the batch's updates; called inside
# the transaction that writes them.
Finish = Callable[[list[Outcome]], dict[str, Any]]


@runtime_checkable
class BlobSource(Protocol):
    """Sealed blobs in one place (a table column, a directory), in a stable key order."""

    @property
    def name(self) -> str:
        """A stable dataset name without credentials (``sqlite:///app.db#users.email``)."""
        ...

    @property
    def location(self) -> str:
        """Where the data lives (a path or URL without credentials)."""
        ...

    @property
    def binding(self) -> str:
        """How rows are keyed and what aad and tenant they bind, e.g.
        ``key=id aad=column:id tenant=column:org``; a checkpoint resumes only under the
        same binding."""
        ...

    @property
    def per_row_tenant(self) -> bool:
        """Whether each row names its tenant (a tenant column)."""
        ...

    def count(self) -> int:
        """How many rows (blobs) the source holds now."""
        ...

    def rows(
        self, after: RowKey | None, size: int, *, header_only: bool = False
    ) -> Iterator[list[Row]]:
        """Rows with keys after `after` (all when None), in key order, `size` at a time.
        With `header_only`, values may be cut to their first bytes (usage scans)."""
        ...

    def load_progress(self, job: str) -> dict[str, Any] | None:
        """The checkpoint record of `job`, or None."""
        ...

    def save_progress(self, job: str, record: dict[str, Any], *, run: str | None) -> None:
        """Store the checkpoint record; with `run`, only if the stored one belongs to it.

        Raises:
            ConfigurationError: the stored record belongs to another run (one that took
                the job over since).
        """
        ...

    def commit(
        self, job: str, updates: Sequence[Update], finish: Finish, *, run: str
    ) -> list[Outcome]:
        """Apply `updates` with compare-and-swap and store ``finish(outcomes)`` as the
        checkpoint of `job`, all or nothing (for files: as nearly as files allow).

        Raises:
            ConfigurationError: the job was taken over by another run; nothing written.
        """
        ...

    def close(self) -> None:
        """Release connections and handles."""
        ...


def check_job(job: object) -> str:
    """A job name: 1-64 characters of A-Z a-z 0-9 _ . -.

    Raises:
        TypeError: not a str.
        ValueError: another form.
    """
    if not isinstance(job, str):
        raise TypeError(f"job must be a str, not {type(job).__name__}")
    if not _JOB.match(job):
        raise ValueError("job must be 1-64 characters of A-Z a-z 0-9 _ . -")
    return job


def aad_bytes(raw: object) -> bytes | None:
    """The aad an aad column value stands for, or None when its type has no agreed form.

    Bytes are used as they are, text as UTF-8, integers as decimal ASCII (``42`` ->
    ``b"42"``, how an application usually binds a record id), UUIDs in their canonical
    text form; NULL is the empty aad.
    """
    if raw is None:
        return b""
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        try:
            return raw.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates from a broken TEXT value
            return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return str(raw).encode("ascii")
    if isinstance(raw, uuid.UUID):
        return str(raw).encode("ascii")
    return None


def tenant_label(raw: object) -> str | None:
    """The tenant a tenant column value names (text, or an integer as decimal), or None
    when it is not a valid label."""
    if (isinstance(raw, int) and not isinstance(raw, bool)) or isinstance(raw, uuid.UUID):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    try:
        return validate_label("tenant", raw)
    except ValueError:
        return None


def encode_key(key: RowKey | None) -> Any:
    """A row key as JSON (type kept: 1, "1" and b"1" are different keys)."""
    if key is None:
        return None
    if isinstance(key, bool):
        raise TypeError("a row key is never a bool")
    if isinstance(key, int):
        return {"int": str(key)}
    if isinstance(key, float):
        return {"float": key.hex()}
    if isinstance(key, str):
        return {"str": key}
    return {"bytes": base64.b64encode(key).decode("ascii")}


def decode_key(data: Any) -> RowKey | None:
    """Inverse of `encode_key`.

    Raises:
        ConfigurationError: not a key this module wrote (a damaged checkpoint).
    """
    if data is None:
        return None
    try:
        if isinstance(data, dict) and len(data) == 1:
            ((kind, text),) = data.items()
            if isinstance(text, str):
                if kind == "int":
                    return int(text)
                if kind == "float":
                    return float.fromhex(text)
                if kind == "str":
                    return text
                if kind == "bytes":
                    return base64.b64decode(text, validate=True)
    except ValueError:
        pass
    raise ConfigurationError("the rewrap checkpoint holds a malformed row key")


def load_record(raw: str | bytes, where: str) -> dict[str, Any]:
    """Parse a stored checkpoint record."""
    try:
        record = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        record = None
    if not isinstance(record, dict):
        raise ConfigurationError(f"the rewrap checkpoint in {where} is not a JSON object")
    return record


def dump_record(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def check_run(record: dict[str, Any] | None, run: str | None, job: str, where: str) -> None:
    """Refuse to write when another run has taken the job over."""
    if run is not None and (record is None or record.get("run") != run):
        raise ConfigurationError(
            f"rewrap job {job!r} on {where} was taken over by another run; this run stops "
            "here (its written batches are kept)"
        )


_SPEC_HELP = (
    "a source is sqlite:PATH#TABLE.COLUMN, postgresql://HOST/DB#[SCHEMA.]TABLE.COLUMN "
    "(optionally followed by ,key=COL ,aad=COL ,tenant=COL) or dir:PATH[#GLOB]"
)


def open_source(spec: str, *, timeout: float = 10.0) -> BlobSource:
    """Open a source named by one string (command lines, configuration).

    - ``sqlite:///var/lib/app.db#users.email`` (``sqlite:app.db#...`` is relative)
    - ``postgresql://app@db.internal/app#public.orders.card,key=id,tenant=org_id``
    - ``dir:/var/backups/blobs`` or ``dir:/var/backups/blobs#*.bin``

    Options after the column: ``key=`` (the key column), ``aad=`` (the aad column),
    ``tenant=`` (the tenant column).

    Raises:
        ConfigurationError: a malformed spec, or what `SqlColumn` / `FileDirectory` raise.
    """
    if not isinstance(spec, str):
        raise TypeError(f"a source spec must be a str, not {type(spec).__name__}")
    # Imported here: both modules build on this one.
    from cryptorails.keys._sources_dir import FileDirectory
    from cryptorails.keys._sources_sql import SqlColumn

    if spec.startswith("dir:"):
        path, sep, pattern = spec[4:].rpartition("#")
        if not sep or "/" in pattern:
            path, pattern = spec[4:], "*"
        if not path:
            raise ConfigurationError(_SPEC_HELP)
        return FileDirectory(path, pattern or "*")
    base, sep, fragment = spec.rpartition("#")
    target, *options = fragment.split(",")
    table, dot, column = target.rpartition(".")
    if not sep or not dot or not table or not column:
        raise ConfigurationError(f"malformed source {display_url(base or spec)}: {_SPEC_HELP}")
    named: dict[str, str] = {}
    for option in options:
        name, eq, value = option.partition("=")
        if not eq or name not in ("key", "aad", "tenant") or not value or name in named:
            raise ConfigurationError(f"bad source option {option!r}: {_SPEC_HELP}")
        named[name] = value
    return SqlColumn(
        base,
        table,
        column,
        key_column=named.get("key"),
        aad_column=named.get("aad"),
        tenant_column=named.get("tenant"),
        timeout=timeout,
    )
