"""`cryptorails keys rewrap|retire`: move the data off old keys, then retire them.

Rotation alone leaves every stored blob under the old key. `rewrap` moves a table column
or a directory onto the current primary (resumable: rerun the same command after a crash
or Ctrl-C). `retire` removes a key only when a usage scan of the given sources, and the
key ledger for everything not scanned, prove that nothing is sealed under it: first
disabled (reversible), destroyed after a grace period.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

import click

from cryptorails.aead import Sealer
from cryptorails.cli._common import (
    check_kid,
    check_label,
    context_options,
    emit,
    fail,
    format_option,
    keystore_options,
)
from cryptorails.cli._keys import keys
from cryptorails.context import Context
from cryptorails.keys import Keyring, KeyState
from cryptorails.keys._rewrap import MAX_BATCH, rewrap, usage_scan
from cryptorails.keys._rewrap_report import RewrapReport
from cryptorails.keys._sources import BlobSource, check_job, open_source
from cryptorails.keys._sources_dir import FileDirectory
from cryptorails.keys._sources_sql import SqlColumn

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

_DURATION = re.compile(r"([0-9]{1,6})([smhdw])\Z")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_MAX_GRACE = timedelta(days=3650)


def _grace(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    match = _DURATION.match(value.strip())
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration such as 7d, 36h, 2w or 0s")
    grace = timedelta(seconds=int(match[1]) * _UNITS[match[2]])
    if grace > _MAX_GRACE:
        raise click.BadParameter("at most 3650 days")
    return grace


def _now(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise click.BadParameter("give a time zone (2030-01-01T00:00:00Z)")
    return when.astimezone(UTC)


def _job(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_job(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


# -- rewrap ------------------------------------------------------------------------------


@keys.command("rewrap")
@keystore_options
@click.option(
    "--sqlite", "sqlite_path", type=click.Path(dir_okay=False, path_type=Path), help="SQLite file."
)
@click.option("--postgres", "postgres_url", metavar="URL", help="postgresql://user@host/db")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="A directory whose files are one blob each (instead of a table).",
)
@click.option("--table", help="The table (PostgreSQL: [schema.]table).")
@click.option("--column", help="The column holding the sealed blobs.")
@click.option("--key-column", help="A unique NOT NULL column. SQLite default: rowid.")
@click.option("--aad-column", help="A column whose value is each blob's aad (a record id).")
@click.option("--tenant", callback=check_label, help="The one tenant of every blob.")
@click.option("--tenant-column", help="A column naming each row's tenant.")
@click.option("--purpose", required=True, callback=check_label, help="Purpose label.")
@click.option("--pattern", default="*", show_default=True, help="--dir: file name glob.")
@click.option("--aad-name", is_flag=True, help="--dir: each file's name is its aad.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, MAX_BATCH),
    default=1000,
    show_default=True,
    help="Rows per transaction and checkpoint.",
)
@click.option("--job", default="default", show_default=True, callback=_job, help="Job name.")
@click.option("--restart", is_flag=True, help="Drop an unfinished checkpoint; start anew.")
@format_option
def keys_rewrap(
    keyring: Keyring,
    sqlite_path: Path | None,
    postgres_url: str | None,
    directory: Path | None,
    table: str | None,
    column: str | None,
    key_column: str | None,
    aad_column: str | None,
    tenant: str | None,
    tenant_column: str | None,
    purpose: str,
    pattern: str,
    aad_name: bool,
    batch_size: int,
    job: str,
    restart: bool,
    fmt: str,
) -> None:
    """Re-encrypt every blob of a table column (or a directory) under the current primary.

    Rows already under the primary are skipped without decryption; rows the application
    changes meanwhile are left as it wrote them; rows that do not open are left unchanged
    and reported. Batches commit together with a checkpoint, so rerunning the same
    command after a crash or Ctrl-C resumes where it stopped. Exit 0 when every row is
    under the primary, 1 when some are not.
    """
    if sum(x is not None for x in (sqlite_path, postgres_url, directory)) != 1:
        fail("error: give exactly one of --sqlite, --postgres, --dir")
    if (tenant is None) == (tenant_column is None):
        fail("error: give exactly one of --tenant, --tenant-column")
    source: BlobSource
    if directory is not None:
        if table or column or key_column or aad_column or tenant_column:
            fail("error: --dir takes no --table/--column/--key-column/--aad-column/--tenant-column")
        source = FileDirectory(directory, pattern, aad_from_name=aad_name)
    else:
        if not table or not column:
            fail("error: --table and --column are required with --sqlite/--postgres")
        if postgres_url is not None and key_column is None:
            fail("error: --postgres needs --key-column (a unique NOT NULL column)")
        # Quoted: a path may hold "#" or "?", which a URL would split off.
        url = f"sqlite:{quote(str(sqlite_path.absolute()))}" if sqlite_path else str(postgres_url)
        source = SqlColumn(
            url,
            table,
            column,
            key_column=key_column,
            aad_column=aad_column,
            tenant_column=tenant_column,
        )
    try:
        total = source.count()
        bar: ProgressBar[int] = click.progressbar(
            length=total, label="rewrap", file=sys.stderr, show_pos=True
        )
        with bar:
            report = rewrap(
                Sealer(keyring),
                source,
                purpose=purpose,
                tenant=tenant,
                batch_size=batch_size,
                progress=bar.update,
                job=job,
                ledger=keyring.ledger,
                restart=restart,
            )
    except KeyboardInterrupt:
        fail(
            f"\ninterrupted: committed batches are kept; rerun the same command to resume "
            f"(job {job})",
            1,
        )
    finally:
        source.close()
    emit(fmt, {**report.to_json(), "ledger": keyring.ledger is not None}, _rewrap_text(report))
    if not report.complete:
        raise click.exceptions.Exit(1)


def _rewrap_text(r: RewrapReport) -> str:
    resumed = "" if r.resumed_from is None else f" (resumed after key {r.resumed_from!r})"
    lines = [
        f"rewrap {r.source} (job {r.job}, batch size {r.batch_size})",
        f"  rows scanned       {r.rows_scanned}{resumed}",
        f"  rewrapped          {r.rewrapped}",
        f"  already current    {r.already_current}",
        f"  changed meanwhile  {r.changed_meanwhile} (left as the application wrote them)",
    ]
    if r.null_values:
        lines.append(f"  NULL values        {r.null_values}")
    lines.append(f"  failed             {r.failed_total}")
    for reason, n in sorted(r.failed.items(), key=lambda item: item[0].value):
        sample = ", ".join(repr(k) for k in r.failed_samples.get(reason, ()))
        lines.append(f"    {reason.value}: {n} (e.g. keys {sample})")
    lines.append(f"  kids before        {_kids(r.kids_before)}")
    lines.append(f"  kids after         {_kids(r.kids_after)}")
    lines.append(
        f"  time               {r.seconds:.2f} s for {r.scanned_this_run} rows "
        f"({r.rows_per_second:.0f} rows/s)"
    )
    if r.complete:
        lines.append("result: every row is under the primary")
    else:
        left = r.failed_total + r.changed_not_current
        lines.append(f"result: {left} row(s) are not under the primary (left unchanged)")
    return "\n".join(lines)


def _kids(kids: Mapping[int, int]) -> str:
    return ", ".join(f"{k}: {n}" for k, n in sorted(kids.items())) or "none"


# -- retire ------------------------------------------------------------------------------


@keys.command("retire")
@keystore_options
@context_options
@click.option("--kid", required=True, callback=check_kid, metavar="KID", help="Decimal or 0x-hex.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    required=True,
    metavar="SPEC",
    help=(
        "Where blobs of this keyset live (repeatable): sqlite:PATH#TABLE.COLUMN, "
        "postgresql://HOST/DB#[SCHEMA.]TABLE.COLUMN, each optionally followed by "
        ",tenant=COL (per-row tenant) or ,key=COL; or dir:PATH[#GLOB]."
    ),
)
@click.option(
    "--grace",
    default="7d",
    show_default=True,
    callback=_grace,
    help="How long a key stays disabled before it may be destroyed (s, m, h, d, w).",
)
@click.option("--now", callback=_now, metavar="ISO8601", help="The current time (tests).")
@click.option("--yes", is_flag=True, help="Destroy without asking.")
@format_option
def keys_retire(
    keyring: Keyring,
    ctx: Context,
    kid: int,
    sources: tuple[str, ...],
    grace: timedelta,
    now: datetime | None,
    yes: bool,
    fmt: str,
) -> None:
    """Retire key KID once nothing uses it: disable it, then destroy it after --grace.

    A usage scan of every --source (blob headers only) must find no blob under KID, and
    the key ledger (--ledger) must list no other dataset or backup under it. A primary
    is refused (rotate and rewrap first). Run it twice: the first run disables the key,
    a run after the grace period scans again and destroys it. A compromised key (it
    neither seals nor opens already) is destroyed by a run after the grace period since
    it was marked, when the scan finds nothing. Exit 1 when refused.
    """
    keyset = keyring.find_keyset(ctx)
    key = keyset.get(kid) if keyset is not None else None
    if key is None:
        fail(f"error: no key {kid} in the keyset of {ctx.tenant}/{ctx.purpose}")
    now = now or datetime.now(UTC)
    base = {"tenant": ctx.tenant, "purpose": ctx.purpose, "kid": kid, "state": key.state.value}
    who = f"key {kid} of {ctx.tenant}/{ctx.purpose}"
    if key.state is KeyState.PRIMARY:
        _retire_out(fmt, base, "refused", f"{who} is the primary: rotate first, then rewrap", 1)
    if key.state is KeyState.DESTROYED:
        _retire_out(fmt, base, "none", f"{who} is already destroyed", 0)
    out_of_service = key.state in (KeyState.DISABLED, KeyState.COMPROMISED)
    if out_of_service:
        if key.changed_at is None:
            _retire_out(
                fmt,
                base,
                "refused",
                f"{who} is {key.state.value} since an unknown time; enable and disable it "
                "again to start the grace period",
                1,
            )
        due = key.changed_at + grace
        if now < due:
            _retire_out(
                fmt,
                {**base, "destroy_after": due.isoformat()},
                "waiting",
                f"{who} is {key.state.value} since {key.changed_at.isoformat()}; it may be "
                f"destroyed from {due.isoformat()} (rerun then)",
                0,
            )
    uses, notes = _uses(keyring, ctx, kid, sources)
    data = {**base, "uses": uses, "notes": notes}
    used = [u for u in uses if u["blobs"]]
    if used:
        lines = [f"{who} is still in use; not retired:"]
        lines += [
            f"  {u['source']}: {u['blobs']} blob(s)"
            + ("" if u["scanned"] else f" ({u['kind']} listed in the ledger, not scanned)")
            for u in used
        ]
        lines.append("rewrap those first (cryptorails keys rewrap ...), then retire again")
        _retire_out(fmt, data, "refused", "\n".join([*lines, *_notes(notes)]), 1)
    scanned = "\n".join(f"  {u['source']}: 0 blobs" for u in uses)
    if not out_of_service:
        keyring.set_state(ctx, kid, KeyState.DISABLED)
        changed = keyring.keyset(ctx).get(kid)
        # What the next run compares with: the time the keyring recorded the change.
        due = (changed.changed_at if changed and changed.changed_at else now) + grace
        text = (
            f"no blob uses {who}:\n{scanned}\n{who} is now disabled (reversible: cryptorails "
            f"keys enable); it may be destroyed from {due.isoformat()}: rerun retire then"
        )
        data = {**data, "state": "disabled", "destroy_after": due.isoformat()}
        _retire_out(fmt, data, "disabled", "\n".join([text, *_notes(notes)]), 0)
    if not yes:
        click.confirm(
            f"Destroy {who}? Nothing scanned uses it; data sealed under it anywhere else "
            "becomes unrecoverable.",
            abort=True,
            err=True,
        )
    keyring.set_state(ctx, kid, KeyState.DESTROYED)
    text = f"no blob uses {who}:\n{scanned}\n{who} is now destroyed"
    _retire_out(
        fmt, {**data, "state": "destroyed"}, "destroyed", "\n".join([text, *_notes(notes)]), 0
    )


def _uses(
    keyring: Keyring, ctx: Context, kid: int, specs: tuple[str, ...]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Blobs under `kid`: per scanned source, then per ledger dataset not scanned here."""
    ledger, env = keyring.ledger, keyring.environment
    uses: list[dict[str, Any]] = []
    scanned: set[str] = set()
    for spec in specs:
        source = open_source(spec)
        try:
            tenant = None if source.per_row_tenant else ctx.tenant
            found = usage_scan(
                source, purpose=ctx.purpose, tenant=tenant, ledger=ledger, environment=env
            )
        finally:
            source.close()
        scanned.add(source.name)
        blobs = found[ctx][kid] if ctx in found else 0
        uses.append({"source": source.name, "kind": "dataset", "scanned": True, "blobs": blobs})
    notes = []
    if ledger is None:
        notes.append(
            "no key ledger (--ledger): datasets and backups not given as --source are unknown"
        )
    else:
        for usage in ledger.usage(env, ctx):
            blobs = usage.kids.get(kid, 0)
            if usage.dataset not in scanned and blobs:
                uses.append(
                    {
                        "source": usage.dataset,
                        "kind": usage.kind,
                        "scanned": False,
                        "blobs": blobs,
                        "counted_at": usage.updated_at.isoformat(),
                    }
                )
    return uses, notes


def _notes(notes: list[str]) -> list[str]:
    return [f"note: {n}" for n in notes]


def _retire_out(fmt: str, data: dict[str, Any], action: str, text: str, code: int) -> NoReturn:
    emit(fmt, {**data, "action": action}, text)
    raise click.exceptions.Exit(code)
