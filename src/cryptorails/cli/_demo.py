"""`cryptorails demo`: the guided tour of sealing for two tenants."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import click

from cryptorails.aead import Sealer
from cryptorails.cli._common import (
    cli,
    emit,
    format_option,
    key_rows,
    print_table,
)
from cryptorails.context import Context
from cryptorails.errors import DecryptionError
from cryptorails.keys import Keyring, LocalKek


@cli.command()
@format_option
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
        rows = key_rows(keyring, keyring.contexts())
    if fmt == "json":
        emit(fmt, {"environment": "demo", "steps": steps, "keys": rows}, "")
    else:
        click.echo("environment demo: a new KEK and file keystore in a temporary folder")
        for i, s in enumerate(steps, 1):
            mark = "ok" if s["ok"] else "FAILED"
            click.echo(f"{i}. {s['step']:<6} {s['tenant']:<9} {mark:<6} {s['detail']}")
        print_table(rows)
    if not all(s["ok"] for s in steps):
        raise click.exceptions.Exit(1)
