"""`cryptorails triage clocks` and `cryptorails triage blob`."""

from __future__ import annotations

import ssl
import sys
from pathlib import Path

import click

from cryptorails.cli._common import check_label, emit, fail, format_option, keystore_options
from cryptorails.cli._nonces import decode_text
from cryptorails.cli._triage import triage
from cryptorails.context import Context
from cryptorails.keys import Keyring
from cryptorails.tokens import DEFAULT_LEEWAY
from cryptorails.triage._blob import BlobDiagnosis, diagnose_blob
from cryptorails.triage._clocks import ClockReport, check_clocks, check_url

# -- clocks ----------------------------------------------------------------------------


@triage.command("clocks")
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option(
    "--samples", type=click.IntRange(1, 20), default=3, show_default=True, help="Per server."
)
@click.option(
    "--timeout", type=click.FloatRange(0.1, 120), default=5.0, show_default=True, help="Seconds."
)
@click.option(
    "--max-skew",
    type=click.FloatRange(0, None),
    default=DEFAULT_LEEWAY.total_seconds(),
    show_default=True,
    help="Seconds (default: the token verifier's leeway).",
)
@click.option(
    "--cafile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CA bundle for https servers with an internal CA.",
)
@format_option
def clocks(
    urls: tuple[str, ...],
    samples: int,
    timeout: float,
    max_skew: float,
    cafile: Path | None,
    fmt: str,
) -> None:
    """Compare each server's clock (its HTTP Date header) with this host's.

    Exit 1 if a server is off by more than --max-skew (beyond the measurement's
    uncertainty), has no valid Date header, or cannot be reached.
    """
    for url in urls:
        why = check_url(url)
        if why is not None:
            fail(f"error: {why}")
    context = None
    if cafile is not None:
        try:
            context = ssl.create_default_context(cafile=str(cafile))
        except ssl.SSLError as e:
            fail(f"error: --cafile {cafile}: {e.reason or e}")
    report = check_clocks(
        urls, max_skew=max_skew, samples=samples, timeout=timeout, context=context
    )
    emit(fmt, report.to_json(), _clock_text(report))
    if not report.clean:
        raise click.exceptions.Exit(1)


def _clock_text(report: ClockReport) -> str:
    lines = []
    for s in report.servers:
        if s.offset is not None and s.uncertainty is not None:
            verdict = "SKEWED" if s.exceeds(report.max_skew) else "ok"
            rtt = f"{s.round_trip * 1000:.0f} ms" if s.round_trip is not None else "?"
            lines.append(
                f"{verdict} {s.url}: offset {s.offset:+.1f} s ± {s.uncertainty:.1f} s, "
                f"round trip {rtt}, {s.samples} {s.method} sample{'s' * (s.samples != 1)}, "
                f"Date: {s.date}"
            )
            if s.error is not None:
                lines.append(f"  error: {s.error}")
        else:
            lines.append(f"FAILED {s.url}: {s.error}")
        lines.extend(f"  note: {n}" for n in s.notes)
    spread = report.spread
    if spread is not None:
        ahead, behind, diff, unc = spread
        lines.append(
            f"largest spread: {ahead.url} is {diff:.1f} s ± {unc:.1f} s ahead of {behind.url}"
        )
        if diff - unc > report.max_skew:
            lines.append(
                f"  problem: beyond {report.max_skew:g} s: a timestamp made on one of them "
                "can be refused by the other"
            )
    problems = report.problems
    lines.append(
        f"verdict: {len(problems)} problem{'s' * (len(problems) != 1)} "
        f"(allowed skew {report.max_skew:g} s)"
        if problems
        else f"verdict: every clock within {report.max_skew:g} s of this host"
    )
    return "\n".join(lines)


# -- blob ------------------------------------------------------------------------------


def _read_blob(source: str) -> bytes:
    """BLOB: base64 or hex text, ``-`` for stdin (text or raw bytes), ``@path`` raw."""
    if source.startswith("@"):
        with open(source[1:], "rb") as f:
            return f.read()
    if source == "-":
        data = sys.stdin.buffer.read()
        # A raw blob starts with its version byte 0x01, which no text encoding has.
        decoded = decode_text(data) if data.strip().isascii() else None
        if decoded is not None or data[:1] == b"\x01":
            return decoded if decoded is not None else data
        fail("error: stdin holds neither base64 nor hex text nor a raw blob")
    decoded = decode_text(source.encode(errors="surrogateescape"))
    if decoded is None:
        fail("error: BLOB is neither base64 nor hex (use @path for a raw file, - for stdin)")
    return decoded


@triage.command("blob")
@click.argument("source", metavar="BLOB")
@keystore_options
@click.option("--tenant", callback=check_label, help="The tenant it should open for.")
@click.option("--purpose", callback=check_label, help="The purpose it should open for.")
@click.option("--aad", default="", help="Associated data to open with.")
@format_option
def blob(
    keyring: Keyring,
    source: str,
    tenant: str | None,
    purpose: str | None,
    aad: str,
    fmt: str,
) -> None:
    """Say why a sealed blob does (not) open: owner keyset, key state, tenant, tag.

    BLOB is base64 or hex text, - for stdin, or @path for a raw file. Looks the blob's
    kid up in every keyset of the keystore (offline tooling: never on the serving path).
    With --ledger, tombstones of shredded tenants are checked too. Prints the
    plaintext's length only. Exit 0 if it opens under --tenant/--purpose (or,
    without them, under exactly one keyset), 1 otherwise.
    """
    if (tenant is None) != (purpose is None):
        fail("error: give --tenant and --purpose together (or neither)")
    ctx = Context(tenant, purpose) if tenant is not None and purpose is not None else None
    data = _read_blob(source)
    # surrogateescape: the aad is the argument's exact bytes, as in `cryptorails open`.
    aad_bytes = aad.encode(errors="surrogateescape")
    found = diagnose_blob(keyring, data, ctx, aad_bytes)
    emit(fmt, found.to_json(), _blob_text(found))
    if not found.opens:
        raise click.exceptions.Exit(1)


def _blob_text(found: BlobDiagnosis) -> str:
    head = f"blob: {found.length} bytes"
    if found.version is not None:
        head += f", version {found.version}"
    if found.algorithm is not None and found.kid is not None:
        head += (
            f", {found.algorithm.value}, kid {found.kid} (0x{found.kid:08x}), "
            f"{found.nonce_length}-byte nonce"
        )
    lines = [head]
    if found.kid is not None:
        count = len(found.owners)
        lines.append(
            f"keystore (environment {found.environment}): kid in {count} keyset{'s' * (count != 1)}"
        )
    for o in found.owners:
        if o.opens:
            outcome = f"opens (plaintext {o.plaintext_length} bytes)"
        elif o.shredded:
            outcome = "tenant shredded: not tried"
        elif o.opens is None:
            outcome = f"refused: {o.reason.value if o.reason else 'not tried'}"
        else:
            outcome = f"does not open: {o.reason.value if o.reason else '?'}"
            if o.opens_with_empty_aad:
                outcome += " (opens with an empty aad)"
        lines.append(
            f"  {o.context.tenant}/{o.context.purpose}: key {o.state.value} "
            f"({o.algorithm.value}), {outcome}"
        )
    lines.extend(f"note: {n}" for n in found.notes)
    for t in found.tombstones:
        lines.append(f"tombstone: tenant {t.tenant} shredded at {t.shredded_at.isoformat()}")
    if found.context is not None:
        lines.append(f"checked as: {found.context.tenant}/{found.context.purpose}")
    lines.append(f"verdict: {found.verdict.value.replace('_', ' ')}")
    lines.append(f"  {found.explanation}")
    return "\n".join(lines)
