"""Shared pieces of the command line: the root group, options, errors, output."""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cryptorails.context import Context, validate_label
from cryptorails.errors import CryptoRailsError, DecryptionError, Reason, VerificationError
from cryptorails.keys import Kek, Keyring, Ledger, keystore_environment
from cryptorails.keys.kek import open_kek, open_tenant_keks

if TYPE_CHECKING:
    from cryptorails.tokens import TrustedIssuers

F = TypeVar("F", bound=Callable[..., Any])

KEK_ENV = "CRYPTORAILS_KEK_FILE"
LEDGER_ENV = "CRYPTORAILS_LEDGER"
TENANT_KEKS_ENV = "CRYPTORAILS_TENANT_KEKS"
_COLUMNS = ("tenant", "purpose", "kid", "algorithm", "state", "created", "uses")


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(message, err=True)
    raise click.exceptions.Exit(code)


class _Cli(click.Group):
    """The root group: turns library errors into the documented messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (DecryptionError, VerificationError) as e:
            # Never the reason: the text is fixed whatever failed. One exception: a
            # shredded tenant, which only the operator who named the tenant can ask about,
            # and who must learn that no retry or restore will help.
            if e.reason is Reason.TENANT_SHREDDED:
                fail(
                    f"{e}: the tenant was shredded (a tombstone in the key ledger); its data "
                    "can never be opened again, even from a restored keystore",
                    1,
                )
            fail(str(e), 1)
        except CryptoRailsError as e:  # ConfigurationError, PolicyError
            fail(f"error: {e}")
        except OSError as e:
            if e.errno == errno.EPIPE:
                raise  # click exits quietly on a closed pipe
            where = f": {e.filename}" if e.filename else ""
            fail(f"error: {e.strerror or e}{where}")


def check_label(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Check a tenant, purpose or environment by the library's own rules."""
    try:
        return None if value is None else validate_label(param.name or "value", value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def check_kid(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A key id: decimal or 0x-prefixed hex, 32 bits."""
    text, kid = value.strip(), -1
    if len(text) <= 20 and re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        kid = int(text, 16)
    elif len(text) <= 20 and re.fullmatch(r"[0-9]+", text):
        kid = int(text)
    if not 0 <= kid < 2**32:
        raise click.BadParameter(f"{value!r} is not a 32-bit key id (decimal or 0x-hex)")
    return kid


def format_option(f: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format.",
    )(f)


def ledger_option(f: F) -> F:
    return click.option(
        "--ledger",
        metavar="URL",
        envvar=LEDGER_ENV,
        show_envvar=True,
        help=(
            "Key ledger (tombstones of shredded tenants, key usage): a store URL such as "
            "sqlite:///var/lib/app/ledger.db, kept apart from the keystore and its backups."
        ),
    )(f)


def kek_option(f: F) -> F:
    return click.option(
        "--kek",
        metavar="FILE|URI",
        envvar=KEK_ENV,
        show_envvar=True,
        help=(
            "The KEK: a file, a PKCS#11 URI (pkcs11:token=...;object=...?module-path=..."
            "&pin-source=env:VAR) or aws-kms:<key id or alias>[?region=...]. Default: the "
            "keystore path with .kek appended."
        ),
    )(f)


def tenant_keks_option(f: F) -> F:
    return click.option(
        "--tenant-keks",
        metavar="URI",
        envvar=TENANT_KEKS_ENV,
        show_envvar=True,
        help=(
            "Where the tenants' own KEKs live, for a keystore made with per-tenant KEKs in "
            "an HSM or KMS (pkcs11:...;object=<label prefix>... or aws-kms:alias/<prefix>). "
            "Tenant KEKs kept inside the keystore are found without it."
        ),
    )(f)


def keystore_options(f: Callable[..., None]) -> Callable[..., None]:
    """Add --keystore/--environment/--kek/--tenant-keks/--ledger; `f` gets the opened
    `Keyring` first."""

    @functools.wraps(f)
    def run(
        *,
        keystore: Path,
        environment: str | None,
        kek: str | None,
        tenant_keks: str | None,
        ledger: str | None,
        **kw: Any,
    ) -> None:
        f(open_keyring(keystore, environment, kek, ledger, tenant_keks), **kw)

    run = ledger_option(run)
    run = tenant_keks_option(run)
    run = kek_option(run)
    for option in (
        click.option("--environment", callback=check_label, help="Default: the keystore's own."),
        click.option(
            "--keystore", required=True, type=click.Path(path_type=Path), help="Keystore folder."
        ),
    ):
        run = option(run)
    return run


def context_options(f: Callable[..., None]) -> Callable[..., None]:
    """Add --tenant/--purpose; `f` gets the `Context` after the keyring."""

    @functools.wraps(f)
    def run(keyring: Keyring, *, tenant: str, purpose: str, **kw: Any) -> None:
        f(keyring, Context(tenant, purpose), **kw)

    run = click.option("--purpose", required=True, callback=check_label, help="Purpose label.")(run)
    return click.option("--tenant", required=True, callback=check_label, help="Tenant id.")(run)


def default_kek(keystore: Path) -> Path:
    """``<keystore>.kek``: a sibling of the keystore folder, never inside it."""
    absolute = Path(os.path.abspath(keystore))  # so that "ks/", "." and ".." work too
    if absolute.parent == absolute:
        fail(f"error: cannot derive a KEK path from {keystore}; pass --kek")
    return absolute.with_name(absolute.name + ".kek")


def load_kek(keystore: Path, kek: str | Path | None) -> Kek:
    """The KEK named by --kek (a file or a pkcs11:/aws-kms: URI), else `<keystore>.kek`."""
    return open_kek(str(kek if kek is not None else default_kek(keystore)))


def open_keyring(
    keystore: Path,
    environment: str | None,
    kek: str | Path | None,
    ledger: str | None = None,
    tenant_keks: str | None = None,
) -> Keyring:
    # Read the recorded environment first: "no keystore here" is the most useful error.
    recorded = keystore_environment(keystore)
    return Keyring.open(
        keystore,
        kek=load_kek(keystore, kek),
        environment=environment or recorded,
        tenant_keks=open_tenant_keks(tenant_keks) if tenant_keks else None,
        ledger=Ledger.open(ledger) if ledger else None,
    )


def trusted_token(trust: Path, tenant: str | None, source: str) -> tuple[TrustedIssuers, str, str]:
    """Load a trust file, pick the tenant, and read the token (``-``: stdin).

    Returns the `TrustedIssuers`, the tenant and the token text. Exits 2 when the tenant
    is ambiguous or unknown.
    """
    from cryptorails.tokens import load_trust_file

    trusted = load_trust_file(trust)
    if tenant is None:
        if len(trusted) != 1:
            fail("error: the trust file lists several tenants; pass --tenant")
        tenant = trusted.tenants[0]
    elif tenant not in trusted:
        fail(f"error: the trust file has no tenant {tenant!r}")
    raw = sys.stdin.read() if source == "-" else source
    return trusted, tenant, raw.strip()


def emit(fmt: str, data: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(data, indent=2) if fmt == "json" else text)


def key_rows(keyring: Keyring, contexts: Iterable[Context]) -> list[dict[str, Any]]:
    return [
        {
            "tenant": ctx.tenant,
            "purpose": ctx.purpose,
            "kid": key.kid,
            "algorithm": key.algorithm.value,
            "state": key.state.value,
            "created": key.created_at.isoformat(),
            "uses": key.uses,
            "nist_state": key.state.nist,
            "changed": key.changed_at.isoformat() if key.changed_at else None,
        }
        for ctx in contexts
        for key in keyring.find_keyset(ctx) or ()
    ]


def print_table(rows: list[dict[str, Any]]) -> None:
    table = Table(*_COLUMNS)
    for row in rows:
        created = datetime.fromisoformat(row["created"]).astimezone(UTC)
        cells = {**row, "created": f"{created:%Y-%m-%d %H:%M:%S} UTC"}
        # Text(): labels are shown literally, never parsed as rich markup.
        table.add_row(*(Text(str(cells[c])) for c in _COLUMNS))
    tty = sys.stdout.isatty()
    Console(file=sys.stdout, highlight=False, width=None if tty else 160).print(table)


@click.group(cls=_Cli)
@click.version_option(package_name="cryptorails", prog_name="cryptorails")
def cli() -> None:
    """Keep cryptography from silently breaking in production.

    Exit codes: 0 success, 1 a problem found or decryption failed, 2 usage error.
    """
