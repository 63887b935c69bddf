"""`cryptorails secrets PATH...`: find credentials and key material in artifacts."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import click

from cryptorails.cli._common import KEK_ENV, check_label, cli, fail, open_keyring
from cryptorails.redact._known import KnownMaterial
from cryptorails.secrets_scan import (
    Baseline,
    BaselineError,
    ScanConfig,
    render_json,
    render_sarif,
    render_text,
    scan_paths,
)


@cli.command("secrets")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--exclude",
    "excludes",
    multiple=True,
    metavar="GLOB",
    help="Skip files and folders matching GLOB (repeatable; .git, .hg, .svn always).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Worker processes for many files. Default: the number of CPUs.",
)
@click.option(
    "--known-keys",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="KEYSTORE",
    help="Also find the exact key material of every keyset of KEYSTORE, in any encoding.",
)
@click.option(
    "--kek",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=KEK_ENV,
    show_envvar=True,
    help="KEK file of --known-keys. Default: the keystore path with .kek appended.",
)
@click.option(
    "--environment", callback=check_label, help="Of --known-keys. Default: the keystore's own."
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Accept the findings listed in this baseline file (and use its salt).",
)
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every finding of this scan to a baseline file, then exit 0.",
)
@click.option(
    "--max-decompressed",
    type=click.IntRange(min=1),
    default=1 << 30,
    show_default=True,
    metavar="BYTES",
    help="Stop decompressing a .gz file after this many bytes (with a warning).",
)
def secrets_command(
    paths: tuple[Path, ...],
    fmt: str,
    excludes: tuple[str, ...],
    jobs: int | None,
    known_keys: Path | None,
    kek: Path | None,
    environment: str | None,
    baseline: Path | None,
    write_baseline: Path | None,
    max_decompressed: int,
) -> None:
    """Scan files and folders for secrets: logs, JSON lines, HAR, OTLP JSON, .env, YAML
    (with the base64 data of Kubernetes Secrets), binary dumps, .gz files.

    Secrets are never printed: text output shows a public prefix and a length at most.
    Each finding has a fingerprint, HMAC-SHA256 under a salt: the salt of --baseline
    when given, else a random one per run (so fingerprints of runs without a baseline
    cannot be compared).

    Exit codes: 0 nothing found (or --write-baseline), 1 secrets found that the baseline
    does not accept, 2 usage error. Unreadable files are reported on stderr and skipped.
    """
    try:
        accepted = Baseline.load(baseline) if baseline is not None else Baseline()
    except BaselineError as e:
        fail(f"error: {e}")
    known: KnownMaterial | None = None
    if known_keys is not None:
        known = KnownMaterial.from_keyring(open_keyring(known_keys, environment, kek))
    config = ScanConfig(salt=accepted.salt, max_decompressed=max_decompressed)
    try:
        report = scan_paths(paths, config, known=known, excludes=excludes, jobs=jobs)
    finally:
        if known is not None:
            known.clear()
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    new = [f for f in report.findings if f.fingerprint not in accepted]
    suppressed = len(report.findings) - len(new)
    if fmt == "json":
        click.echo(render_json(new))
    elif fmt == "sarif":
        click.echo(render_sarif(new, version=metadata.version("cryptorails")))
    else:
        click.echo(render_text(new, files=report.files, suppressed=suppressed))
    if write_baseline is not None:
        accepted.save(write_baseline, (f.fingerprint for f in report.findings))
        click.echo(
            f"wrote baseline {write_baseline} ({len(report.findings)} findings accepted)",
            err=True,
        )
        return
    if new:
        raise click.exceptions.Exit(1)
