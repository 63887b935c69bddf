"""``cryptorails scan`` (the code auditor) and ``cryptorails rules`` (its documentation)."""

from __future__ import annotations

import json
import time
from importlib import metadata
from pathlib import Path

import click

from cryptorails.audit import Rule, all_rules, scan
from cryptorails.audit._baseline import apply_baseline, read_baseline, write_baseline
from cryptorails.audit._config import load_config, select_rules
from cryptorails.audit._report import CASES, SourceLines, json_report, sarif_report, text_report
from cryptorails.cli._common import cli, fail


def _codes(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(c.strip().upper() for c in value.split(",") if c.strip())


@cli.command("scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--select", help="Only these rule codes or prefixes (comma-separated).")
@click.option("--ignore", help="Skip these rule codes or prefixes (comma-separated).")
@click.option("--exclude", multiple=True, help="Glob of paths to skip (repeatable).")
@click.option("--baseline", type=click.Path(path_type=Path), help="Accept findings listed here.")
@click.option(
    "--write-baseline",
    "write_baseline_to",
    type=click.Path(path_type=Path),
    help="Write the current findings to this baseline file and exit 0.",
)
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes (default: CPUs).")
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    help=(
        "Keep per-file results here and reuse them for unchanged files (invalidated when "
        "the rules, the selection or Python change). For pre-commit and CI caches."
    ),
)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Write the report here.")
def scan_command(
    paths: tuple[Path, ...],
    fmt: str,
    select: str | None,
    ignore: str | None,
    exclude: tuple[str, ...],
    baseline: Path | None,
    write_baseline_to: Path | None,
    jobs: int | None,
    cache: Path | None,
    output: Path | None,
) -> None:
    """Find the ten crypto failure cases in Python code under PATHS.

    Settings come from [tool.cryptorails] in the nearest pyproject.toml (select, ignore,
    exclude, baseline); options given here take precedence (--ignore and --exclude add
    to the configured lists). Suppress one finding with a comment on its line:
    `# cryptorails: ignore[CR0501] reason` (the reason is required).

    Exit codes: 0 no findings, 1 findings, 2 usage error.
    """
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        fail(f"error: no such file or directory: {', '.join(missing)}")
    config = load_config(paths[0])
    rules = select_rules(
        all_rules(),
        _codes(select) or config.select,
        (*config.ignore, *(_codes(ignore) or ())),
    )
    started = time.perf_counter()
    result = scan(paths, rules, exclude=(*config.exclude, *exclude), jobs=jobs, cache=cache)
    elapsed = time.perf_counter() - started
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    lines = SourceLines()
    if write_baseline_to is not None:
        count = write_baseline(write_baseline_to, result.findings, lines)
        click.echo(f"wrote {count} findings to {write_baseline_to}", err=True)
        return
    findings, baselined = result.findings, 0
    baseline = baseline or config.baseline
    if baseline is not None:
        findings, baselined = apply_baseline(findings, read_baseline(baseline), lines)
    if fmt == "json":
        report = json_report(findings)
    elif fmt == "sarif":
        report = sarif_report(findings, rules, metadata.version("cryptorails"))
    else:
        extra = [f"{result.suppressed} suppressed"] if result.suppressed else []
        if baselined:
            extra.append(f"{baselined} in the baseline")
        summary = (
            f"{_count(len(findings), 'finding')} in "
            f"{_count(len({f.path for f in findings}), 'file')}"
            f"{' (' + ', '.join(extra) + ')' if extra else ''}; "
            f"scanned {_count(result.files, 'file')} ({result.parsed} parsed) "
            f"with {_count(len(rules), 'rule')} in {elapsed:.2f} s"
        )
        report = text_report(findings, lines) + summary
    if output is not None:
        output.write_text(report + "\n", encoding="utf-8")
    else:
        click.echo(report)
    if findings:
        raise click.exceptions.Exit(1)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


@cli.command("rules")
@click.argument("code", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def rules_command(code: str | None, fmt: str) -> None:
    """List the auditor's rules, or print one rule's documentation."""
    rules = all_rules()
    if code is not None:
        rule = rules.get(code.upper())
        if rule is None:
            fail(f"error: no rule {code!r}; `cryptorails rules` lists them")
        if fmt == "json":
            data = {**_summary(rule), "documentation": rule.doc}
            click.echo(json.dumps(data, indent=2))
        else:
            header = f"{rule.code} {rule.name} (case {rule.case}: {CASES[rule.case]}; "
            click.echo(f"{header}{rule.severity.value}; CWE-{rule.cwe})\n\n{rule.doc}")
        return
    if fmt == "json":
        click.echo(json.dumps([_summary(r) for r in rules.values()], indent=2))
        return
    for rule in rules.values():
        click.echo(f"{rule.code}  {rule.name:<40} {rule.severity.value:<6}  {rule.summary}")


def _summary(rule: Rule) -> dict[str, object]:
    return {
        "code": rule.code,
        "name": rule.name,
        "case": rule.case,
        "severity": rule.severity.value,
        "cwe": rule.cwe,
        "summary": rule.summary,
    }
