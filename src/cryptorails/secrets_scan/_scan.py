"""`scan_paths`: walk the inputs and scan every file, in a process pool when there are many."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cryptorails.redact._known import KnownMaterial
from cryptorails.secrets_scan._engine import ScanConfig, scan_file
from cryptorails.secrets_scan._files import DEFAULT_EXCLUDES, walk
from cryptorails.secrets_scan._model import Finding

__all__ = ["ScanReport", "scan_paths"]


@dataclass
class ScanReport:
    """Everything one scan found, in path, line, column order."""

    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0


# Set in each worker by `_start_worker`, before any task runs.
_WORKER: tuple[ScanConfig, KnownMaterial | None] | None = None


def _start_worker(config: ScanConfig, known: KnownMaterial | None) -> None:
    global _WORKER
    _WORKER = (config, known)


def _scan_one(item: tuple[str, str]) -> tuple[list[Finding], list[str]]:
    assert _WORKER is not None  # set by the pool initializer
    path, display = item
    return scan_file(Path(path), display, *_WORKER)


def scan_paths(
    paths: Iterable[Path],
    config: ScanConfig,
    *,
    known: KnownMaterial | None = None,
    excludes: Sequence[str] = (),
    jobs: int | None = None,
) -> ScanReport:
    """Scan files and folders (recursively, skipping `excludes` and VCS folders).

    Args:
        config: the fingerprint salt and the gunzip size limit.
        known: exact key material to look for as well.
        jobs: worker processes; default `os.cpu_count()`. One file, or ``jobs=1``, runs
            in this process.

    Returns:
        the findings (no secret in them: masked previews and salted fingerprints only),
        the warnings about files that could not be read, and the number of files.
    """
    items = [(str(p), str(p)) for p in walk(paths, (*DEFAULT_EXCLUDES, *excludes))]
    workers = min(jobs or os.cpu_count() or 1, len(items))
    # Key material is handed to the workers by fork, never pickled (KnownMaterial
    # refuses to be); where fork is missing, a scan with known keys stays in-process.
    methods = multiprocessing.get_all_start_methods()
    if known is not None and "fork" not in methods:
        workers = 1
    results: Iterable[tuple[list[Finding], list[str]]]
    if workers <= 1:
        results = (scan_file(Path(p), d, config, known) for p, d in items)
    else:
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        pool = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start_worker, initargs=(config, known)
        )
        with pool:
            chunk = max(1, len(items) // (workers * 8))
            results = list(pool.map(_scan_one, items, chunksize=chunk))
    report = ScanReport(files=len(items))
    for findings, warnings in results:
        report.findings.extend(findings)
        report.warnings.extend(warnings)
    report.findings.sort(key=lambda f: (f.path, f.line, f.column, f.kind))
    return report
