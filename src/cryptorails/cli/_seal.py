"""`cryptorails seal` and `cryptorails open`, for operations scripts."""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable

import click

from cryptorails.aead import Sealer
from cryptorails.cli._common import (
    cli,
    context_options,
    emit,
    fail,
    format_option,
    keystore_options,
)
from cryptorails.context import Context
from cryptorails.keys import Keyring


def _sealing_options(f: Callable[..., None]) -> Callable[..., None]:
    f = format_option(f)
    f = click.option("--base64", "b64", is_flag=True, help="Blob as base64 text.")(f)
    f = click.option("--aad", default="", help="Associated data (must match when opening).")(f)
    return keystore_options(context_options(f))


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
        emit(fmt, {"blob": base64.b64encode(blob).decode()}, "")
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
            fail("decryption failed", 1)
    plaintext = Sealer(keyring).open(blob, ctx, _aad(aad))
    if fmt == "json":
        emit(fmt, {"plaintext_base64": base64.b64encode(plaintext).decode()}, "")
    else:
        _write(plaintext)
