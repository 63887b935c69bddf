"""`cryptorails keys shred|compromise|blast-radius`: the ends of a key's life.

A key's blast radius is what becomes readable if it leaks: every dataset and backup that
the key ledger lists under it, plus every backup that holds a copy of the keystore or of
the key material itself (a keystore copy in a backup makes that backup a key leak).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from cryptorails.cli._common import (
    check_kid,
    check_label,
    context_options,
    default_kek,
    emit,
    fail,
    format_option,
    keystore_options,
    open_keyring,
)
from cryptorails.cli._keys import keys
from cryptorails.context import Context
from cryptorails.keys import Keyring, KeyState
from cryptorails.keys.kek._local import read_kek_file


def _backup_options(f: Callable[..., None]) -> Callable[..., None]:
    f = click.option(
        "--backup-keystore",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help=(
            "The backup keystore (its KEK at <path>.kek): lets the search look inside "
            "cryptorails backups too."
        ),
    )(f)
    return click.option(
        "--backups",
        "backups",
        multiple=True,
        type=click.Path(exists=True, path_type=Path),
        help=(
            "A backup file, folder or archive to search for copies of the keystore, its KEK "
            "and the key material (repeatable)."
        ),
    )(f)


@keys.command("shred")
@keystore_options
@click.option("--tenant", required=True, callback=check_label, help="The tenant to shred.")
@click.option("--note", default="", help="Why (a ticket, a request id): kept in the tombstone.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@format_option
def keys_shred(keyring: Keyring, tenant: str, note: str, yes: bool, fmt: str) -> None:
    """Crypto-shred TENANT: tombstone it in the ledger, delete its keysets, destroy its KEK.

    Everything sealed under the tenant's keys becomes unreadable for good, in databases
    and backups alike; a keystore copy restored from before the shred is refused because
    of the tombstone. Needs --ledger (kept apart from the keystore and its backups).
    """
    if keyring.ledger is None:
        fail(
            "error: shredding needs a key ledger outside the keystore: pass --ledger URL "
            "(or set CRYPTORAILS_LEDGER)"
        )
    if not yes:
        click.confirm(
            f"Shred tenant {tenant} in environment {keyring.environment}? Every key of it "
            "is destroyed and its data becomes unrecoverable.",
            abort=True,
            err=True,
        )
    report = keyring.shred(tenant, note=note)
    tomb = report.tombstone
    tenant_keks = keyring.tenant_keks
    backups = [
        u
        for u in keyring.ledger.usage(keyring.environment)
        if u.context.tenant == tenant and u.kind == "backup"
    ]
    notes = []
    if not report.tenant_kek_destroyed:
        notes.append(
            "this keystore has no tenant KEK held outside it: copies of the keystore made "
            "before now still hold the tenant's keys, and only the ledger tombstone refuses "
            "them — keep the ledger out of keystore backups (for shredding that needs no "
            "ledger, keep tenant KEKs in an HSM or KMS)"
        )
    elif tenant_keks is not None and tenant_keks.provider_id.startswith("wrapped:"):
        notes.append(
            "tenant KEKs are wrapped inside the keystore folder: a restored keystore copy "
            "brings this tenant's KEK back, and only the ledger tombstone refuses it"
        )
    if backups:
        notes.append(
            f"the ledger lists {len(backups)} backup(s) of this tenant sealed under its "
            "backup keyset; shred the tenant in the backup keystore too"
        )
    data = {
        "environment": tomb.environment,
        "tenant": tomb.tenant,
        "shredded_at": tomb.shredded_at.isoformat(),
        "keysets": [{"tenant": c.tenant, "purpose": c.purpose} for c in tomb.contexts],
        "kids": list(tomb.kids),
        "keysets_deleted": report.keysets_deleted,
        "tenant_kek_destroyed": report.tenant_kek_destroyed,
        "backups": [u.dataset for u in backups],
        "notes": notes,
    }
    lines = [
        f"shredded tenant {tenant} ({keyring.environment}) at {tomb.shredded_at.isoformat()}",
        f"  tombstone: {len(tomb.contexts)} keyset(s), {len(tomb.kids)} key(s): "
        + ", ".join(str(k) for k in tomb.kids),
        f"  keyset files deleted now: {report.keysets_deleted}",
        f"  tenant KEK destroyed: {'yes' if report.tenant_kek_destroyed else 'no'}",
        *(f"note: {n}" for n in notes),
    ]
    emit(fmt, data, "\n".join(lines))


@keys.command("compromise")
@keystore_options
@context_options
@click.option("--kid", required=True, callback=check_kid, metavar="KID", help="Decimal or 0x-hex.")
@_backup_options
@format_option
def keys_compromise(
    keyring: Keyring,
    ctx: Context,
    kid: int,
    backups: tuple[Path, ...],
    backup_keystore: Path | None,
    fmt: str,
) -> None:
    """Mark key KID compromised (a compromised primary is replaced at once) and report
    everything sealed under it."""
    keyring.set_state(ctx, kid, KeyState.COMPROMISED)
    primary = keyring.keyset(ctx).primary.kid
    report = blast_radius(keyring, [(ctx, kid)], backups, backup_keystore)
    steps = [
        f"move the data off it: cryptorails keys rewrap ... --tenant {ctx.tenant} "
        f"--purpose {ctx.purpose} (rewrap opens compromised keys; nothing else does)",
        f"then retire it: cryptorails keys retire --kid {kid} ...",
    ]
    data = {"compromised": kid, "primary": primary, **report, "next_steps": steps}
    head = f"key {kid} of {ctx.tenant}/{ctx.purpose} is now compromised; primary is {primary}"
    emit(fmt, data, "\n".join([head, *_report_lines(report), *(f"next: {s}" for s in steps)]))


@keys.command("blast-radius")
@keystore_options
@click.argument(
    "kid",
    required=False,
    metavar="[KID]",
    callback=lambda ctx, param, value: None if value is None else check_kid(ctx, param, value),
)
@click.option("--tenant", callback=check_label, help="Every key of this tenant instead of KID.")
@_backup_options
@format_option
def keys_blast_radius(
    keyring: Keyring,
    kid: int | None,
    tenant: str | None,
    backups: tuple[Path, ...],
    backup_keystore: Path | None,
    fmt: str,
) -> None:
    """What becomes readable if key KID (or every key of --tenant) leaks.

    Lists the datasets and backups the key ledger records under the key(s), and searches
    --backups for copies of the keystore, its KEK and the key material. Exit 1 when a
    backup holds such a copy (that backup is itself a key leak), 0 otherwise.
    """
    if (kid is None) == (tenant is None):
        fail("error: give either KID or --tenant")
    subjects: list[tuple[Context, int]] = []
    for ctx in keyring.contexts():
        if tenant is not None and ctx.tenant != tenant:
            continue
        for key in keyring.find_keyset(ctx) or ():
            if kid is None or key.kid == kid:
                subjects.append((ctx, key.kid))
    if not subjects:
        fail(f"error: no key {kid} in any keyset" if kid else f"error: no keys for {tenant}", 1)
    report = blast_radius(keyring, subjects, backups, backup_keystore)
    emit(fmt, report, "\n".join(_report_lines(report)))
    if report["keystore_copies"]:
        raise click.exceptions.Exit(1)


def blast_radius(
    keyring: Keyring,
    subjects: Sequence[tuple[Context, int]],
    backups: Sequence[Path],
    backup_keystore: Path | None = None,
) -> dict[str, Any]:
    """The blast-radius report of some keys: their state, the ledger's datasets and backups
    under them, and keystore copies found in `backups`."""
    keys_out = []
    for ctx, kid in subjects:
        keyset = keyring.find_keyset(ctx)
        key = keyset.get(kid) if keyset else None
        if key is not None:
            keys_out.append(
                {
                    "tenant": ctx.tenant,
                    "purpose": ctx.purpose,
                    "kid": kid,
                    "algorithm": key.algorithm.value,
                    "state": key.state.value,
                    "nist_state": key.state.nist,
                }
            )
    readable = []
    notes = []
    ledger = keyring.ledger
    if ledger is None:
        notes.append("no key ledger given (--ledger): datasets and backups are unknown")
    else:
        wanted: dict[Context, set[int]] = {}
        for ctx, kid in subjects:
            wanted.setdefault(ctx, set()).add(kid)
        for ctx, kids in wanted.items():
            for usage in ledger.usage(keyring.environment, ctx):
                hit = {k: n for k, n in usage.kids.items() if k in kids}
                if hit:
                    readable.append(
                        {
                            "tenant": ctx.tenant,
                            "purpose": ctx.purpose,
                            "dataset": usage.dataset,
                            "kind": usage.kind,
                            "location": usage.location,
                            "blobs": sum(hit.values()),
                            "kids": {str(k): n for k, n in hit.items()},
                            "counted_at": usage.updated_at.isoformat(timespec="seconds"),
                        }
                    )
    copies = _keystore_copies(keyring, subjects, backups, backup_keystore) if backups else []
    if not backups:
        notes.append("no --backups searched for copies of the keystore or key material")
    notes.extend(
        f"could not search {c['location']}: {c['detail']}"
        for c in copies
        if c["kind"] == "unreadable"
    )
    copies = [c for c in copies if c["kind"] != "unreadable"]
    return {
        "environment": keyring.environment,
        "keys": keys_out,
        "readable_if_leaked": readable,
        "keystore_copies": copies,
        "notes": notes,
    }


def _keystore_copies(
    keyring: Keyring,
    subjects: Sequence[tuple[Context, int]],
    backups: Sequence[Path],
    backup_keystore: Path | None,
) -> list[dict[str, Any]]:
    from cryptorails.backups import BACKUP_PURPOSE, BackupSealer, find_keystore_copies
    from cryptorails.redact import KnownMaterial

    known = KnownMaterial()
    for ctx, kid in subjects:
        keyset = keyring.find_keyset(ctx)
        key = keyset.get(kid) if keyset else None
        if key is not None and key.material is not None:
            known.add(key.material)
    if keyring.keystore_path is not None:
        kek_file = default_kek(keyring.keystore_path)
        if kek_file.exists():
            known.add(read_kek_file(kek_file))
    sealers = []
    if backup_keystore is not None:
        backup_ring = open_keyring(backup_keystore, None, None, None)
        tenants = {c.tenant for c in backup_ring.contexts() if c.purpose == BACKUP_PURPOSE}
        sealers = [BackupSealer(backup_ring, tenant=t) for t in sorted(tenants)]
    found = find_keystore_copies(backups, known=known, backup_sealers=sealers)
    return [{**c.to_json(), "location": c.location} for c in found]


def _report_lines(report: dict[str, Any]) -> list[str]:
    lines = [f"environment {report['environment']}"]
    for k in report["keys"]:
        lines.append(
            f"key {k['kid']} of {k['tenant']}/{k['purpose']}: {k['state']} "
            f"(NIST: {k['nist_state']}), {k['algorithm']}"
        )
    if report["readable_if_leaked"]:
        lines.append("readable if leaked:")
        for r in report["readable_if_leaked"]:
            where = f" at {r['location']}" if r["location"] else ""
            lines.append(
                f"  {r['kind']} {r['dataset']}{where}: {r['blobs']} blob(s) "
                f"(counted {r['counted_at']})"
            )
    elif not report["notes"] or "ledger" not in report["notes"][0]:
        lines.append("readable if leaked: nothing the ledger knows of")
    if report["keystore_copies"]:
        lines.append("backups holding copies of the keystore or key material:")
        for c in report["keystore_copies"]:
            whose = "/".join(x for x in (c["tenant"], c["purpose"]) if x)
            lines.append(f"  {c['location']}: {c['kind']}" + (f" ({whose})" if whose else ""))
    lines.extend(f"note: {n}" for n in report["notes"])
    return lines
