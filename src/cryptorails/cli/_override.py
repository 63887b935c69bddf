"""`cryptorails override approve|inspect`: signed, expiring approvals for security overrides."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

import click

from cryptorails.cli._common import (
    check_label,
    cli,
    context_options,
    emit,
    fail,
    format_option,
    kek_option,
    open_keyring,
    trusted_token,
)
from cryptorails.clock import SystemClock
from cryptorails.context import Context
from cryptorails.errors import Reason, VerificationError
from cryptorails.keys import Keyring
from cryptorails.overrides import MAX_OVERRIDE_LIFETIME, OVERRIDE_AUDIENCE, Override, approve
from cryptorails.tokens import TokenIssuer

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _lifetime(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    """``90s``, ``30m``, ``4h``, ``2d`` or plain seconds."""
    match = re.fullmatch(r"([0-9]{1,7})([smhd]?)", value.strip())
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration like 90s, 30m, 4h or 2d")
    seconds = int(match[1]) * _UNITS[match[2] or "s"]
    if not 1 <= seconds <= MAX_OVERRIDE_LIFETIME.total_seconds():
        raise click.BadParameter(f"must be between 1s and {MAX_OVERRIDE_LIFETIME.days}d")
    return timedelta(seconds=seconds)


@cli.group()
def override() -> None:
    """Approve and inspect expiring security overrides (see cryptorails.overrides)."""


def _approver_keystore(f: Callable[..., None]) -> Callable[..., None]:
    """Add --keystore/--kek; `f` gets the opened `Keyring` first.

    Not `keystore_options`: its --environment names the keystore's environment, while
    here --environment is the environment the override is approved for. The keystore is
    opened in its own recorded environment.
    """

    @functools.wraps(f)
    def run(*, keystore: Path, kek: str | None, **kw: Any) -> None:
        f(open_keyring(keystore, None, kek), **kw)

    run = kek_option(run)
    return click.option(
        "--keystore", required=True, type=click.Path(path_type=Path), help="Keystore folder."
    )(run)


@override.command("approve")
@_approver_keystore
@context_options
@click.option("--issuer", required=True, help="The iss claim (the approver keyset's name).")
@click.option("--what", required=True, help="The check being switched off, e.g. tls.verify.")
@click.option("--reason", required=True, help="Why; shown in every warning while active.")
@click.option(
    "--lifetime", required=True, callback=_lifetime, help="How long: 90s, 30m, 4h, 2d (max 7d)."
)
@click.option(
    "--environment", required=True, callback=check_label, help="The environment it applies to."
)
@click.option("--approver", required=True, help="Who approves it.")
@format_option
def override_approve(
    keyring: Keyring,
    ctx: Context,
    issuer: str,
    what: str,
    reason: str,
    lifetime: timedelta,
    environment: str,
    approver: str,
    fmt: str,
) -> None:
    """Sign an approval token with the approver keyset TENANT/PURPOSE and print it."""
    try:
        token = approve(
            TokenIssuer(keyring, ctx, issuer=issuer),
            what=what,
            reason=reason,
            environment=environment,
            lifetime=lifetime,
            approver=approver,
        )
    except (TypeError, ValueError) as e:
        fail(f"error: {e}")
    emit(fmt, {"token": token}, token)


@override.command("inspect")
@click.argument("source", metavar="TOKEN", default="-")
@click.option(
    "--trust",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=f'Trust file; the approvers\' entry needs "audience": "{OVERRIDE_AUDIENCE}".',
)
@click.option("--tenant", help="Which tenant's trust to use (needed if the file has several).")
@format_option
def override_inspect(source: str, trust: Path, tenant: str | None, fmt: str) -> None:
    """Verify an approval TOKEN (or stdin with -) and print what it overrides.

    Exits 1 when it does not verify or has expired.
    """
    trusted, tenant, raw = trusted_token(trust, tenant, source)
    try:
        found = Override.from_claims(trusted.verify(tenant, raw))
    except VerificationError as e:
        # A genuine approval past its end (the signature is checked first) is reported as
        # such; every other failure stays the one generic text.
        _invalid(fmt, "expired" if e.reason is Reason.EXPIRED else str(e))
    if SystemClock().now() >= found.expires_at:
        _invalid(fmt, f"expired at {found.expires_at.isoformat()}")
    data = found.as_dict()
    text = "\n".join(f"{name}: {value}" for name, value in data.items())
    emit(fmt, {"valid": True, **data}, text)


def _invalid(fmt: str, message: str) -> NoReturn:
    if fmt == "json":
        click.echo(json.dumps({"valid": False, "error": message}))
    fail(f"override {message}" if message.startswith("expired") else message, 1)
