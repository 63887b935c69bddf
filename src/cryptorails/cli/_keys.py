"""`cryptorails keys ...`: create keystores and manage keys."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import click

from cryptorails.algorithms import Algorithm
from cryptorails.cli._common import (
    check_kid,
    check_label,
    cli,
    context_options,
    default_kek,
    emit,
    fail,
    format_option,
    key_rows,
    keystore_options,
    print_table,
)
from cryptorails.context import Context
from cryptorails.errors import ConfigurationError
from cryptorails.keys import Kek, Keyring, KeyState, LocalKek, TenantKeks, keystore_environment
from cryptorails.keys.kek import open_kek, open_tenant_keks


@cli.group()
def keys() -> None:
    """Create keystores and manage keys."""


@keys.command("init")
@click.option("--keystore", required=True, type=click.Path(path_type=Path), help="New folder.")
@click.option("--environment", required=True, callback=check_label, help="prod, staging, ...")
@click.option(
    "--kek",
    type=click.Path(dir_okay=False, path_type=Path),
    help=(
        "Where to write the new KEK (mode 0600). Default: the keystore path with .kek "
        "appended, a sibling file (./keys -> ./keys.kek), never inside the keystore. "
        "That suits development only: in production keep the KEK on another volume or "
        "in a KMS/HSM, so that a copy of the keystore alone opens nothing."
    ),
)
@click.option(
    "--use-kek",
    metavar="URI",
    help=(
        "Use an existing KEK instead of writing one: a PKCS#11 URI (pkcs11:token=...;"
        "object=...?module-path=...&pin-source=env:VAR), aws-kms:<key id or alias>, or a "
        "KEK file."
    ),
)
@click.option(
    "--tenant-keks",
    metavar="wrapped|URI",
    help=(
        "Give each tenant its own KEK, so one tenant can be shredded or moved alone: "
        "'wrapped' keeps them inside the keystore wrapped by the KEK; a pkcs11:/aws-kms: "
        "URI (label or alias prefix) keeps them in the HSM or KMS, where destroying one "
        "is final even if an old keystore copy is restored."
    ),
)
@format_option
def keys_init(
    keystore: Path,
    environment: str,
    kek: Path | None,
    use_kek: str | None,
    tenant_keks: str | None,
    fmt: str,
) -> None:
    """Create a new, empty keystore bound to ENVIRONMENT (and a KEK file, unless
    --use-kek names an existing KEK)."""
    if kek is not None and use_kek is not None:
        fail("error: give either --kek (a new KEK file) or --use-kek (an existing KEK)")
    with contextlib.suppress(ConfigurationError):
        keystore_environment(keystore)
        fail(f"error: a keystore already exists at {keystore}")
    if keystore.exists() and (not keystore.is_dir() or any(keystore.iterdir())):
        fail(f"error: {keystore} exists and is not an empty folder")
    providers: TenantKeks | bool | None = None
    if tenant_keks == "wrapped":
        providers = True
    elif tenant_keks is not None:
        providers = open_tenant_keks(tenant_keks)
    kek_path: Path | None = None
    if use_kek is not None:
        key: Kek = open_kek(use_kek)
    else:
        kek_path = kek or default_kek(keystore)
        if os.path.lexists(kek_path):
            fail(f"error: KEK file {kek_path} already exists; not overwriting")
        key = LocalKek.generate(kek_path)
    try:
        Keyring.open(keystore, kek=key, environment=environment, create=True, tenant_keks=providers)
    except BaseException:
        if kek_path is not None:
            kek_path.unlink(missing_ok=True)  # leave no half-made setup behind
        raise
    data = {
        "keystore": str(keystore),
        "environment": environment,
        "kek_file": str(kek_path) if kek_path else None,
        "kek_id": key.kek_id,
        "tenant_keks": tenant_keks,
    }
    lines = [f"created keystore {keystore} (environment {environment})"]
    if kek_path is not None:
        lines += [
            f"wrote KEK file {kek_path} (mode 0600)",
            "note: in production keep the KEK away from the keystore (another volume, KMS, HSM)",
        ]
    else:
        lines.append(f"KEK: {key.kek_id}")
    if tenant_keks is not None:
        lines.append(f"each tenant gets its own KEK ({tenant_keks})")
    emit(fmt, data, "\n".join(lines))


@keys.command("list")
@keystore_options
@click.option("--tenant", callback=check_label, help="Only this tenant.")
@click.option("--purpose", callback=check_label, help="Only this purpose.")
@format_option
def keys_list(keyring: Keyring, tenant: str | None, purpose: str | None, fmt: str) -> None:
    """List every key of every keyset (never the key material)."""
    contexts = [
        c for c in keyring.contexts() if tenant in (None, c.tenant) and purpose in (None, c.purpose)
    ]
    rows = key_rows(keyring, contexts)
    if fmt == "json":
        emit(fmt, {"environment": keyring.environment, "keys": rows}, "")
    elif rows:
        print_table(rows)
    else:
        click.echo("no keys")


@keys.command("rotate")
@keystore_options
@context_options
@click.option(
    "--algorithm",
    type=click.Choice([a.value for a in Algorithm if not a.verify_only]),
    help="Switch the keyset to this algorithm from the new key on.",
)
@format_option
def keys_rotate(keyring: Keyring, ctx: Context, algorithm: str | None, fmt: str) -> None:
    """Make a new primary key; the old primary stays decrypt-only."""
    kid = keyring.rotate(ctx, algorithm=Algorithm(algorithm) if algorithm else None)
    alg = keyring.keyset(ctx).primary.algorithm.value
    data = {"tenant": ctx.tenant, "purpose": ctx.purpose, "kid": kid, "algorithm": alg}
    emit(fmt, data, f"new primary kid {kid} ({alg}) for {ctx.tenant}/{ctx.purpose}")


@keys.command("add")
@keystore_options
@context_options
@format_option
def keys_add(keyring: Keyring, ctx: Context, fmt: str) -> None:
    """Add a pre-activation key (neither seals nor opens yet); promote it with `activate`
    once every host has loaded the keystore."""
    kid = keyring.add_key(ctx)
    data = {"tenant": ctx.tenant, "purpose": ctx.purpose, "kid": kid, "state": "pre_activation"}
    emit(fmt, data, f"added pre-activation key {kid} to {ctx.tenant}/{ctx.purpose}")


def _state_command(name: str, state: KeyState, summary: str) -> None:
    def run(keyring: Keyring, ctx: Context, kid: int, fmt: str, yes: bool = False) -> None:
        if state is KeyState.DESTROYED and not yes:
            click.confirm(
                f"Destroy key {kid} of {ctx.tenant}/{ctx.purpose}? "
                "Data sealed under it becomes unrecoverable.",
                abort=True,
                err=True,
            )
        keyring.set_state(ctx, kid, state)
        data = {"tenant": ctx.tenant, "purpose": ctx.purpose, "kid": kid, "state": state.value}
        emit(fmt, data, f"key {kid} of {ctx.tenant}/{ctx.purpose} is now {state.value}")

    if state is KeyState.DESTROYED:
        run = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")(run)
    run = format_option(run)
    run = click.option(
        "--kid", required=True, callback=check_kid, metavar="KID", help="Decimal or 0x-hex."
    )(run)
    keys.command(name, help=summary)(keystore_options(context_options(run)))


_state_command(
    "activate",
    KeyState.PRIMARY,
    "Make a pre-activation or decrypt-only key primary; the old primary stays decrypt-only.",
)
_state_command("disable", KeyState.DISABLED, "Stop a key from opening (reversible).")
_state_command("enable", KeyState.ACTIVE, "Let a disabled key open again (decrypt-only).")
_state_command("destroy", KeyState.DESTROYED, "Erase a disabled key's material (irreversible).")
