"""Scanning in worker processes.

The workers are started before the files are found: forking, and each worker's first
look at the rules (its prefilter), then overlap with the walk of the tree. Files go out
in chunks of similar total size, biggest files first, and workers take chunks as they
free up, so the last chunks, which decide when the scan ends, are small. Results come
back in file order, as from one process.
"""

from __future__ import annotations

import gc
import multiprocessing
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from types import TracebackType

from cryptorails.audit._engine import FileResult, check_prefiltered, scan_file
from cryptorails.audit._registry import all_rules
from cryptorails.audit._words import Prefilter, prefilter_for

__all__ = ["Workers"]

_CHUNKS_PER_WORKER = 16


class Workers:
    """`jobs` worker processes for the rules named by `codes` (a context manager)."""

    def __init__(self, jobs: int, codes: tuple[str, ...]) -> None:
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        all_rules()  # loaded before forking, so that workers inherit the registry
        self._jobs = jobs
        self._codes = codes
        self._pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method))
        # Starts the workers now (with fork, all of them at the first task).
        self._ready: list[Future[None]] = [self._pool.submit(_start, codes) for _ in range(jobs)]

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def scan(
        self, files: list[Path], sources: list[bytes | None] | None = None
    ) -> list[FileResult]:
        """The result of each of `files`, in order; `sources`, when given, holds the
        bytes already read for each file (None: the worker reads it)."""
        given = sources if sources is not None else [None] * len(files)
        chunks = _chunks(files, self._jobs * _CHUNKS_PER_WORKER)
        work = [([(files[i], given[i]) for i in chunk], self._codes) for chunk in chunks]
        results: list[FileResult] = [FileResult()] * len(files)
        for chunk, done in zip(chunks, self._pool.map(_scan_chunk, work), strict=True):
            for i, result in zip(chunk, done, strict=True):
                results[i] = result
        for ready in self._ready:
            ready.result()  # re-raises a failure to start
        return results


_PREPARED: dict[tuple[str, ...], Prefilter] = {}


def _prepare(codes: tuple[str, ...]) -> Prefilter:
    """A worker's start: the rules' prefilter, built while the parent walks the tree."""
    found = _PREPARED.get(codes)
    if found is None:
        if not _PREPARED:
            # Everything inherited from the parent lives as long as the worker: keep
            # the collector from tracing it (and touching its copy-on-write pages).
            gc.freeze()
        registry = all_rules()
        found = _PREPARED[codes] = prefilter_for([registry[c] for c in codes])
    return found


def _start(codes: tuple[str, ...]) -> None:
    _prepare(codes)


def _scan_chunk(args: tuple[list[tuple[Path, bytes | None]], tuple[str, ...]]) -> list[FileResult]:
    items, codes = args
    prefilter = _prepare(codes)
    return [
        scan_file(path, prefilter)
        if source is None
        else check_prefiltered(source, str(path), prefilter)
        for path, source in items
    ]


def _chunks(files: list[Path], count: int) -> list[list[int]]:
    """Indices of `files` in about `count` chunks of similar total size, biggest files
    first."""
    sizes = []
    for path in files:
        try:
            sizes.append(path.stat().st_size)
        except OSError:
            sizes.append(0)  # reported when the worker fails to read it
    target = max(1, sum(sizes) // count)
    chunks: list[list[int]] = []
    current: list[int] = []
    filled = 0
    for i in sorted(range(len(files)), key=sizes.__getitem__, reverse=True):
        current.append(i)
        filled += sizes[i]
        if filled >= target:
            chunks.append(current)
            current, filled = [], 0
    if current:
        chunks.append(current)
    return chunks
