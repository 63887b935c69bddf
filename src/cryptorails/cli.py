"""The `cryptorails` command: a keystore operator's tool and a guided demo.

Exit codes (DESIGN.md): 0 success, 1 a problem was found or an authentication failed,
2 a usage error. A failed open prints only ``decryption failed``: the cause stays inside
the library, so the CLI is no more of an oracle than the API. Misuse (wrong environment,
wrong KEK, forbidden key transition) is explained precisely on stderr as ``error: ...``.
Nothing here ever prints key material.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import functools
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cryptorails.aead import Sealer
from cryptorails.algorithms import Algorithm
from cryptorails.context import Context, validate_label
from cryptorails.errors import ConfigurationError, CryptoRailsError, DecryptionError
from cryptorails.keys import Keyring, KeyState, LocalKek, keystore_environment

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])

KEK_ENV = "CRYPTORAILS_KEK_FILE"
_COLUMNS = ("tenant", "purpose", "kid", "algorithm", "state", "created", "uses")


def _fail(message: str, code: int = 2) -> NoReturn:
    click.echo(message, err=True)
    raise click.exceptions.Exit(code)


class _Cli(click.Group):
    """The root group: turns library errors into the documented messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DecryptionError:
            # Never the reason: `str()` is fixed, but say it explicitly here too.
            _fail("decryption failed", 1)
        except CryptoRailsError as e:  # ConfigurationError, PolicyError
            _fail(f"error: {e}")
        except OSError as e:
            if e.errno == errno.EPIPE:
                raise  # click exits quietly on a closed pipe
            where = f": {e.filename}" if e.filename else ""
            _fail(f"error: {e.strerror or e}{where}")


def _label(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Check a tenant, purpose or environment by the library's own rules."""
    try:
        return None if value is None else validate_label(param.name or "value", value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def _kid(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A key id: decimal or 0x-prefixed hex, 32 bits."""
    text, kid = value.strip(), -1
    if len(text) <= 20 and re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        kid = int(text, 16)
    elif len(text) <= 20 and re.fullmatch(r"[0-9]+", text):
        kid = int(text)
    if not 0 <= kid < 2**32:
        raise click.BadParameter(f"{value!r} is not a 32-bit key id (decimal or 0x-hex)")
    return kid


def _format_option(f: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format.",
    )(f)


def _keystore_options(f: Callable[..., None]) -> Callable[..., None]:
    """Add --keystore/--environment/--kek; `f` gets the opened `Keyring` first."""

    @functools.wraps(f)
    def run(*, keystore: Path, environment: str | None, kek: Path | None, **kw: Any) -> None:
        f(_open_keyring(keystore, environment, kek), **kw)

    for option in (
        click.option(
            "--kek",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar=KEK_ENV,
            show_envvar=True,
            help="KEK file. Default: the keystore path with .kek appended.",
        ),
        click.option("--environment", callback=_label, help="Default: the keystore's own."),
        click.option(
            "--keystore", required=True, type=click.Path(path_type=Path), help="Keystore folder."
        ),
    ):
        run = option(run)
    return run


def _context_options(f: Callable[..., None]) -> Callable[..., None]:
    """Add --tenant/--purpose; `f` gets the `Context` after the keyring."""

    @functools.wraps(f)
    def run(keyring: Keyring, *, tenant: str, purpose: str, **kw: Any) -> None:
        f(keyring, Context(tenant, purpose), **kw)

    run = click.option("--purpose", required=True, callback=_label, help="Purpose label.")(run)
    return click.option("--tenant", required=True, callback=_label, help="Tenant id.")(run)


def _default_kek(keystore: Path) -> Path:
    """``<keystore>.kek``: a sibling of the keystore folder, never inside it."""
    absolute = Path(os.path.abspath(keystore))  # so that "ks/", "." and ".." work too
    if absolute.parent == absolute:
        _fail(f"error: cannot derive a KEK path from {keystore}; pass --kek")
    return absolute.with_name(absolute.name + ".kek")


def _open_keyring(keystore: Path, environment: str | None, kek: Path | None) -> Keyring:
    # Read the recorded environment first: "no keystore here" is the most useful error.
    recorded = keystore_environment(keystore)
    key = LocalKek.from_file(kek or _default_kek(keystore))
    return Keyring.open(keystore, kek=key, environment=environment or recorded)


def _emit(fmt: str, data: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(data, indent=2) if fmt == "json" else text)


def _key_rows(keyring: Keyring, contexts: Iterable[Context]) -> list[dict[str, Any]]:
    return [
        {
            "tenant": ctx.tenant,
            "purpose": ctx.purpose,
            "kid": key.kid,
            "algorithm": key.algorithm.value,
            "state": key.state.value,
            "created": key.created_at.isoformat(),
            "uses": key.uses,
        }
        for ctx in contexts
        for key in keyring.find_keyset(ctx) or ()
    ]


def _print_table(rows: list[dict[str, Any]]) -> None:
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


# -- demo ------------------------------------------------------------------------------


@cli.command()
@_format_option
def demo(fmt: str) -> None:
    """Seal, open, refuse a cross-tenant open and rotate, in a temporary keystore.

    Exits 1 if any step does not behave as it must (e.g. a cross-tenant open succeeds).
    """
    steps: list[dict[str, Any]] = []

    def step(action: str, ctx: Context, ok: bool, detail: str, **extra: Any) -> None:
        steps.append({"step": action, "tenant": ctx.tenant, "ok": ok, "detail": detail, **extra})

    records = {
        Context("tenant-a", "user-email"): b"alice@a.example",
        Context("tenant-b", "user-email"): b"bob@b.example",
    }
    a, b = records
    with tempfile.TemporaryDirectory(prefix="cryptorails-demo-") as tmp:
        kek = LocalKek.generate(Path(tmp) / "keystore.kek")
        keyring = Keyring.open(Path(tmp) / "keystore", kek=kek, environment="demo", create=True)
        sealer = Sealer(keyring)
        blobs: dict[Context, bytes] = {}
        for ctx, plaintext in records.items():
            blobs[ctx] = blob = sealer.seal(plaintext, ctx)
            kid = keyring.keyset(ctx).primary.kid
            step("seal", ctx, True, f"{len(blob)}-byte blob under kid {kid}", kid=kid)
            ok = sealer.open(blob, ctx) == plaintext
            step("open", ctx, ok, f"own blob opens: {plaintext.decode()}")
        try:
            sealer.open(blobs[a], b)
            step("open", b, False, "OPENED tenant-a's blob: the tenant boundary is broken")
        except DecryptionError as e:
            step("open", b, True, f"tenant-a's blob -> refused: {e}", blob_of=a.tenant)
        kid = keyring.rotate(a)
        step("rotate", a, True, f"new primary kid {kid}; the old key is decrypt-only", kid=kid)
        ok = sealer.open(blobs[a], a) == records[a]
        step("open", a, ok, "old blob still opens after rotation")
        rows = _key_rows(keyring, keyring.contexts())
    if fmt == "json":
        _emit(fmt, {"environment": "demo", "steps": steps, "keys": rows}, "")
    else:
        click.echo("environment demo: a new KEK and file keystore in a temporary folder")
        for i, s in enumerate(steps, 1):
            mark = "ok" if s["ok"] else "FAILED"
            click.echo(f"{i}. {s['step']:<6} {s['tenant']:<9} {mark:<6} {s['detail']}")
        _print_table(rows)
    if not all(s["ok"] for s in steps):
        raise click.exceptions.Exit(1)


# -- keys ------------------------------------------------------------------------------


@cli.group()
def keys() -> None:
    """Create keystores and manage keys."""


@keys.command("init")
@click.option("--keystore", required=True, type=click.Path(path_type=Path), help="New folder.")
@click.option("--environment", required=True, callback=_label, help="prod, staging, ...")
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
@_format_option
def keys_init(keystore: Path, environment: str, kek: Path | None, fmt: str) -> None:
    """Create a KEK file and a new, empty keystore bound to ENVIRONMENT."""
    with contextlib.suppress(ConfigurationError):
        keystore_environment(keystore)
        _fail(f"error: a keystore already exists at {keystore}")
    if keystore.exists() and (not keystore.is_dir() or any(keystore.iterdir())):
        _fail(f"error: {keystore} exists and is not an empty folder")
    kek_path = kek or _default_kek(keystore)
    if os.path.lexists(kek_path):
        _fail(f"error: KEK file {kek_path} already exists; not overwriting")
    local = LocalKek.generate(kek_path)
    try:
        Keyring.open(keystore, kek=local, environment=environment, create=True)
    except BaseException:
        kek_path.unlink(missing_ok=True)  # leave no half-made setup behind
        raise
    data = {"keystore": str(keystore), "environment": environment, "kek_file": str(kek_path)}
    text = (
        f"created keystore {keystore} (environment {environment})\n"
        f"wrote KEK file {kek_path} (mode 0600)\n"
        "note: in production keep the KEK away from the keystore (another volume, KMS, HSM)"
    )
    _emit(fmt, {**data, "kek_id": local.kek_id}, text)


@keys.command("list")
@_keystore_options
@click.option("--tenant", callback=_label, help="Only this tenant.")
@click.option("--purpose", callback=_label, help="Only this purpose.")
@_format_option
def keys_list(keyring: Keyring, tenant: str | None, purpose: str | None, fmt: str) -> None:
    """List every key of every keyset (never the key material)."""
    contexts = [
        c for c in keyring.contexts() if tenant in (None, c.tenant) and purpose in (None, c.purpose)
    ]
    rows = _key_rows(keyring, contexts)
    if fmt == "json":
        _emit(fmt, {"environment": keyring.environment, "keys": rows}, "")
    elif rows:
        _print_table(rows)
    else:
        click.echo("no keys")


@keys.command("rotate")
@_keystore_options
@_context_options
@click.option(
    "--algorithm",
    type=click.Choice([a.value for a in Algorithm]),
    help="Switch the keyset to this algorithm from the new key on.",
)
@_format_option
def keys_rotate(keyring: Keyring, ctx: Context, algorithm: str | None, fmt: str) -> None:
    """Make a new primary key; the old primary stays decrypt-only."""
    kid = keyring.rotate(ctx, algorithm=Algorithm(algorithm) if algorithm else None)
    alg = keyring.keyset(ctx).primary.algorithm.value
    data = {"tenant": ctx.tenant, "purpose": ctx.purpose, "kid": kid, "algorithm": alg}
    _emit(fmt, data, f"new primary kid {kid} ({alg}) for {ctx.tenant}/{ctx.purpose}")


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
        _emit(fmt, data, f"key {kid} of {ctx.tenant}/{ctx.purpose} is now {state.value}")

    if state is KeyState.DESTROYED:
        run = click.option("--yes", is_flag=True, help="Do not ask for confirmation.")(run)
    run = _format_option(run)
    run = click.option(
        "--kid", required=True, callback=_kid, metavar="KID", help="Decimal or 0x-hex."
    )(run)
    keys.command(name, help=summary)(_keystore_options(_context_options(run)))


_state_command("disable", KeyState.DISABLED, "Stop a key from opening (reversible).")
_state_command("enable", KeyState.ACTIVE, "Let a disabled key open again (decrypt-only).")
_state_command("destroy", KeyState.DESTROYED, "Erase a disabled key's material (irreversible).")


# -- seal / open -----------------------------------------------------------------------


def _sealing_options(f: Callable[..., None]) -> Callable[..., None]:
    f = _format_option(f)
    f = click.option("--base64", "b64", is_flag=True, help="Blob as base64 text.")(f)
    f = click.option("--aad", default="", help="Associated data (must match when opening).")(f)
    return _keystore_options(_context_options(f))


def _aad(text: str) -> bytes:
    # surrogateescape: the aad is the argument's exact bytes, even if they are not UTF-8.
    return text.encode(errors="surrogateescape")


def _write(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


@cli.command()
@_sealing_options
def seal(keyring: Keyring, ctx: Context, aad: str, b64: bool, fmt: str) -> None:
    """Seal stdin for TENANT/PURPOSE; write the blob to stdout."""
    blob = Sealer(keyring).seal(sys.stdin.buffer.read(), ctx, _aad(aad))
    if fmt == "json":
        _emit(fmt, {"blob": base64.b64encode(blob).decode()}, "")
    elif b64:
        click.echo(base64.b64encode(blob).decode())
    else:
        _write(blob)


@cli.command("open")
@_sealing_options
def open_(keyring: Keyring, ctx: Context, aad: str, b64: bool, fmt: str) -> None:
    """Open a blob from stdin for TENANT/PURPOSE; write the plaintext to stdout.

    With --base64, stdin is base64 text (surrounding whitespace allowed).
    """
    blob = sys.stdin.buffer.read()
    if b64:
        try:
            blob = base64.b64decode(blob.strip(), validate=True)
        except ValueError:  # binascii.Error: a malformed blob, like any other
            _fail("decryption failed", 1)
    plaintext = Sealer(keyring).open(blob, ctx, _aad(aad))
    if fmt == "json":
        _emit(fmt, {"plaintext_base64": base64.b64encode(plaintext).decode()}, "")
    else:
        _write(plaintext)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="cryptorails")
