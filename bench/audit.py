"""Auditor benchmark: `cryptorails scan` against Bandit, for speed and for accuracy.

Speed, on Django's source as installed in this environment (or the tree named by
``CRYPTORAILS_BENCH_AUDIT_TREE``):

- ``ast.parse`` of every file, read and parsed in one process: the floor for any tool that
  parses everything (cryptorails can go below it, because its keyword prefilter never
  parses files that contain none of the rules' trigger words);
- `cryptorails.audit.scan` with every rule, with the default worker count (the CPU count)
  and with ``jobs=1``;
- the same scan with a warm per-file result cache (`scan(..., cache=DIR)`, filled by one
  untimed run first): a bonus for repeated scans, reported apart from the cold claim;
- Bandit through its Python API (``BanditManager``: discover files, run every test), in
  this process; it has no parallel mode. One run of the ``bandit -q -r DIR -f json`` CLI
  is also shown (wall time of the subprocess, so it includes interpreter start-up).

Every subject runs a few times, interleaved, and the best wall time is kept (noise from
other processes only ever adds time); CPU time (user + system, worker processes included)
is shown beside it, as it is less disturbed by other load on the machine. Each
cryptorails run happens in a fresh interpreter, timed from after the rules are imported
(as Bandit's is, in this process), so every timing but the warm-cache one is a cold
scan: no memo of an earlier run can help it, and the worker processes fork from a heap
as small as a `cryptorails scan` run's rather than from this one, which holds Bandit.

Accuracy, on the labelled corpus in ``tests/audit/corpus`` (see its README): recall and
precision per failure case, scored by ``tests/audit/corpus_score.py``. Bandit has no
failure cases, so it is scored generously: any Bandit issue (any test id, severity LOW or
above, any confidence) in a vulnerable file of case K counts as finding it; any issue in a
safe file is a false positive of the case whose directory holds the file.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

from cryptorails.audit import all_rules, find_files

from ._harness import Settings, benchmark, format_ratio, version_of

__all__ = ["run"]

ROOT = Path(__file__).resolve().parent.parent
CORPUS_SCORE = ROOT / "tests" / "audit" / "corpus_score.py"
TREE_ENV = "CRYPTORAILS_BENCH_AUDIT_TREE"

FLOOR, CR_POOL, CR_ONE, BANDIT = "floor", "cryptorails", "cryptorails_jobs1", "bandit"
CR_WARM = "cryptorails_warm"
LABELS = {
    FLOOR: "ast.parse of every file (floor)",
    CR_POOL: "cryptorails scan, jobs=default",
    CR_ONE: "cryptorails scan, jobs=1",
    CR_WARM: "cryptorails scan, warm result cache",
    BANDIT: "Bandit (Python API)",
}


def _tree() -> Path | None:
    """The tree to time: $CRYPTORAILS_BENCH_AUDIT_TREE, else Django's installed package."""
    if os.environ.get(TREE_ENV):
        return Path(os.environ[TREE_ENV])
    spec = importlib.util.find_spec("django")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _load_corpus_score() -> ModuleType | None:
    """`tests/audit/corpus_score.py`, loaded by path (tests/ is not a package)."""
    if not CORPUS_SCORE.is_file():
        return None
    spec = importlib.util.spec_from_file_location("_bench_corpus_score", CORPUS_SCORE)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def _bandit_available() -> bool:
    return importlib.util.find_spec("bandit") is not None


def _bandit_issues(target: Path) -> tuple[int, list[Any]]:
    """Run every Bandit test over `target`: (files scanned, issues of severity >= LOW)."""
    from bandit.core import config, manager

    logging.getLogger("bandit").setLevel(logging.CRITICAL)
    bandit = manager.BanditManager(config.BanditConfig(), "file", quiet=True)
    bandit.discover_files([str(target)], True)
    bandit.run_tests()
    return len(bandit.files_list), bandit.get_issue_list(sev_level="LOW", conf_level="LOW")


def _bandit_cli_seconds(target: Path) -> tuple[float, int] | None:
    """Wall time of one ``bandit -q -r DIR -f json`` run and its exit code, or None."""
    exe = Path(sys.executable).with_name("bandit")
    command = str(exe) if exe.exists() else shutil.which("bandit")
    if command is None:
        return None
    start = time.perf_counter()
    done = subprocess.run(
        [command, "-q", "-r", str(target), "-f", "json", "-o", os.devnull],
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - start, done.returncode


def _parse_all(files: list[Path]) -> int:
    parsed = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            try:
                ast.parse(path.read_bytes(), filename=str(path))
                parsed += 1
            except (SyntaxError, ValueError):
                pass
    return parsed


# (files seen, files parsed, findings or issues reported)
Counts = tuple[int, int, int | None]
# What one run gives: its counts, wall seconds and CPU seconds.
Measured = tuple[Counts, float, float]


@dataclass
class Timed:
    """Best wall and CPU times and last counts per subject; the error of any subject
    that raised."""

    best: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    counts: dict[str, Counts] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _cpu_seconds() -> float:
    """User + system time of this process and of its waited-for children."""
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def _measured(work: Callable[[], Counts]) -> Measured:
    """Run `work` in this process, timing it."""
    cpu, start = _cpu_seconds(), time.perf_counter()
    counts = work()
    return counts, time.perf_counter() - start, _cpu_seconds() - cpu


# A scan in a fresh interpreter, timed once the rules are imported: argv = tree, jobs
# ("" for the default), cache ("" for none); prints counts, wall and CPU seconds (JSON).
_SCAN_CHILD = """
import json, resource, sys, time
from pathlib import Path
from cryptorails.audit import all_rules, scan
def cpu():
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)
tree, jobs, cache = sys.argv[1], int(sys.argv[2] or 0) or None, sys.argv[3] or None
rules = list(all_rules().values())
before, start = cpu(), time.perf_counter()
result = scan([Path(tree)], rules, jobs=jobs, cache=Path(cache) if cache else None)
wall, used = time.perf_counter() - start, cpu() - before
counts = [result.files, result.parsed, len(result.findings)]
print(json.dumps({"counts": counts, "wall": wall, "cpu": used}))
"""


def _fresh(tree: Path, jobs: int | None, cache: Path | None = None) -> Measured:
    """Time one `scan` in a fresh interpreter: cold (no memo of an earlier run, and no
    warm result cache unless `cache` is given), with a heap as small as a CLI run's."""
    done = subprocess.run(
        [sys.executable, "-c", _SCAN_CHILD, str(tree), str(jobs or ""), str(cache or "")],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    report = json.loads(done.stdout)
    seen, parsed, findings = report["counts"]
    return (seen, parsed, findings), report["wall"], report["cpu"]


def _best_of(subjects: dict[str, Callable[[], Measured]], runs: int) -> Timed:
    """Run every subject `runs` times, interleaved (alternating order), keep the best
    wall and CPU times. A subject that raises is reported with the error and dropped
    from later rounds.
    """
    timed = Timed()
    names = list(subjects)
    for round_ in range(runs):
        for name in names if round_ % 2 == 0 else reversed(names):
            if name in timed.errors:
                continue
            try:
                counts, wall, cpu = subjects[name]()
            except Exception as exc:  # a broken peer is reported, not fatal
                timed.errors[name] = f"{type(exc).__name__}: {exc}"
                continue
            timed.counts[name] = counts
            timed.best[name] = min(timed.best.get(name, wall), wall)
            timed.cpu[name] = min(timed.cpu.get(name, cpu), cpu)
    return timed


def _bandit(tree: Path) -> Counts:
    files, issues = _bandit_issues(tree)
    return files, files, len(issues)


def _speed(console: Console, tree: Path, runs: int, cache: Path) -> dict[str, Any]:
    files = find_files([tree])
    # The warm subject reuses the results stored by a first, untimed run.
    _fresh(tree, None, cache)
    subjects: dict[str, Callable[[], Measured]] = {
        FLOOR: lambda: _measured(lambda: (len(files), _parse_all(files), None)),
        CR_POOL: lambda: _fresh(tree, None),
        CR_ONE: lambda: _fresh(tree, 1),
        CR_WARM: lambda: _fresh(tree, None, cache),
    }
    if _bandit_available():
        subjects[BANDIT] = lambda: _measured(lambda: _bandit(tree))
    with console.status(f"audit: timing {len(subjects)} subjects x {runs} on {tree}"):
        timed = _best_of(subjects, runs)
        cli = _bandit_cli_seconds(tree) if _bandit_available() else None

    table = Table(
        title=f"Scanning {tree} ({len(files)} .py files), best of {runs}",
        caption="parsed: files actually parsed (cryptorails skips files without any rule's "
        "trigger words). CPU time: user + system, worker processes included (best run). "
        "Bandit / this: Bandit's wall time divided by this row's. Every cryptorails run "
        "is cold (a fresh interpreter, no result cache) except the warm-cache row, "
        "which reuses the per-file results of a first run (`scan(..., cache=DIR)`).",
    )
    columns = ("subject", "files", "parsed", "findings", "best wall time", "CPU time")
    for column in (*columns, "Bandit / this"):
        table.add_column(column, justify="left" if column == "subject" else "right")
    results: dict[str, Any] = {}
    bandit_s = timed.best.get(BANDIT)
    for key in (FLOOR, CR_POOL, CR_ONE, CR_WARM, BANDIT):
        if key not in subjects:
            table.add_row(LABELS[key], "", "", "", "not available", "", "")
            continue
        if key in timed.errors:
            table.add_row(LABELS[key], "", "", "", f"error: {timed.errors[key]}", "", "")
            results[key] = {"error": timed.errors[key]}
            continue
        seen, parsed, findings = timed.counts[key]
        seconds = timed.best[key]
        ratio = bandit_s / seconds if bandit_s is not None and key != BANDIT else None
        table.add_row(
            LABELS[key],
            str(seen),
            str(parsed),
            "" if findings is None else str(findings),
            f"{seconds:.3f} s",
            f"{timed.cpu[key]:.3f} s",
            format_ratio(ratio) if ratio else "",
        )
        results[key] = {
            "seconds": round(seconds, 4),
            "cpu_seconds": round(timed.cpu[key], 4),
            "files": seen,
            "parsed": parsed,
            "findings": findings,
            "bandit_ratio": round(ratio, 2) if ratio else None,
        }
    if cli is not None:
        seconds, code = cli
        label = "Bandit CLI (bandit -q -r DIR -f json), 1 run"
        table.add_row(label, "", "", "", f"{seconds:.3f} s", "", f"exit {code}")
        results["bandit_cli"] = {"seconds": round(seconds, 4), "exit_code": code}
    console.print(table)
    if bandit_s is not None and CR_POOL in timed.best:
        verdict = (
            f"Bandit / cryptorails: {format_ratio(bandit_s / timed.best[CR_POOL])} with the "
            f"default jobs ({os.cpu_count()} CPUs; target >= 10x)"
        )
        if CR_ONE in timed.best:
            verdict += f", {format_ratio(bandit_s / timed.best[CR_ONE])} with jobs=1"
        if CR_WARM in timed.best:
            verdict += (
                f"; warm result cache (a bonus, not the claim): "
                f"{format_ratio(bandit_s / timed.best[CR_WARM])}"
            )
        console.print(verdict, highlight=False)
    if not _bandit_available():
        console.print("Bandit: not available", highlight=False)
    return {"tree": str(tree), "files": len(files), "runs": runs, "subjects": results}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _score_json(result: Any) -> dict[str, Any]:
    cases = [*result.cases.items(), ("all", result.overall)]
    return {
        str(key): {"tp": c.tp, "fn": c.fn, "fp": c.fp, "recall": c.recall, "precision": c.precision}
        for key, c in cases
    }


def _accuracy(console: Console, scoring: ModuleType) -> dict[str, Any]:
    corpus: Path = scoring.CORPUS
    samples = scoring.load_corpus(corpus)
    by_path = {s.path: s for s in samples}
    scores = {"cryptorails": scoring.score(samples, scoring.cryptorails_detections(corpus))}
    if _bandit_available():
        found: dict[Path, dict[int, set[str]]] = {}
        _, issues = _bandit_issues(corpus)
        for issue in issues:
            sample = by_path.get(Path(issue.fname).resolve())
            if sample is not None:
                found.setdefault(sample.path, {}).setdefault(sample.group, set()).add(issue.test_id)
        scores["Bandit"] = scoring.score(samples, found)

    vulnerable = sum(1 for s in samples if s.expect is not None)
    table = Table(
        title=f"Accuracy on the labelled corpus ({vulnerable} vulnerable, "
        f"{len(samples) - vulnerable} safe files)",
        caption="files, not findings. cryptorails: a finding of case K in a file labelled K "
        "is a hit; in any other file, a false positive of case K. Bandit (no case labels, "
        "scored generously): any issue of any test id, severity >= LOW, in a vulnerable file "
        "is a hit; any issue in a safe file is a false positive of that file's case directory.",
    )
    table.add_column("case", justify="right")
    table.add_column("vuln / safe", justify="right")
    for tool in scores:
        table.add_column(f"{tool} recall", justify="right")
        table.add_column(f"{tool} precision", justify="right")
        table.add_column(f"{tool} TP/FN/FP", justify="right")
    first = scores["cryptorails"]
    for case in [*scoring.CASES, None]:
        if case is None:
            table.add_section()
        ref = first.overall if case is None else first.cases[case]
        row = ["all" if case is None else str(case), f"{ref.vulnerable} / {ref.safe}"]
        for result in scores.values():
            c = result.overall if case is None else result.cases[case]
            row += [_pct(c.recall), _pct(c.precision), f"{c.tp}/{c.fn}/{c.fp}"]
        table.add_row(*row)
    console.print(table)
    if "Bandit" not in scores:
        console.print("Bandit: not available", highlight=False)
    ours = scores["cryptorails"]
    for sample, case, rules in ours.false_alarms:
        console.print(
            f"cryptorails false alarm: case {case} in {sample.name} ({', '.join(rules)})",
            highlight=False,
        )
    if ours.misses:
        console.print(
            f"cryptorails missed {len(ours.misses)} vulnerable files "
            "(list: pytest -s tests/audit/test_corpus.py)",
            highlight=False,
        )

    return {tool: _score_json(result) for tool, result in scores.items()}


@benchmark("audit", "cryptorails scan vs Bandit: time on Django's source, accuracy on the corpus")
def run(console: Console, settings: Settings) -> dict[str, Any]:
    """Time both scanners on one tree, then score both on the labelled corpus."""
    runs = 3 if settings.repeats >= 5 else 1
    report: dict[str, Any] = {
        "bandit": version_of("bandit"),
        "rules": len(all_rules()),
        "cpus": os.cpu_count(),
    }
    console.print(
        f"{len(all_rules())} rules; Bandit {version_of('bandit') or 'not available'}",
        highlight=False,
    )
    tree = _tree()
    if tree is None or not tree.is_dir():
        console.print(f"speed: no tree to scan (install Django or set {TREE_ENV})")
    else:
        with tempfile.TemporaryDirectory(prefix="cryptorails-bench-") as cache:
            report["speed"] = _speed(console, tree, runs, Path(cache))
    scoring = _load_corpus_score()
    if scoring is None:
        console.print(f"accuracy: {CORPUS_SCORE} not found", highlight=False)
    else:
        report["accuracy"] = _accuracy(console, scoring)
    return report
