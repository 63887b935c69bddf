"""Shared machinery for the benchmarks: registry, timing, formatting.

A benchmark is a module in this package that decorates one function with `@benchmark`.
`python -m bench` imports every public module here, so adding a benchmark means adding a
file; there is no list to edit.

Timing: a batch runs one operation over a pre-built list of inputs between two
`time.perf_counter_ns` calls, with the garbage collector off (as `timeit` does). The batch
size is chosen so that one batch lasts at least the target time (50 ms by default), and
the reported time per operation is the best (minimum) of several batches: noise from other
processes only ever adds time, so the minimum is the best estimate of the cost itself.
Batches of the jobs compared in one table are interleaved (see `measure`).

An operation that consumes its input (a replay guard accepts each message id once) gives
a `Fresh` factory instead of a pool: every batch then gets inputs built for it alone,
before its clock starts.
"""

from __future__ import annotations

import gc
import importlib
import math
import os
import pkgutil
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypeVar

from rich.console import Console

__all__ = [
    "Batch",
    "Benchmark",
    "Fresh",
    "Job",
    "Settings",
    "Timing",
    "benchmark",
    "discover",
    "environment",
    "format_ns",
    "format_ratio",
    "measure",
    "version_of",
]

# A batch: run the operation once per element of the list it is given.
Batch = Callable[[list[Any]], object]
# Builds `n` inputs never handed out before, for operations that consume their input.
Fresh = Callable[[int], list[Any]]
JobKey = tuple[str, ...]
Runner = Callable[[Console, "Settings"], dict[str, Any]]
F = TypeVar("F", bound=Runner)


@dataclass(frozen=True)
class Settings:
    """How long to measure.

    Args:
        min_batch_s: the shortest acceptable batch, in seconds.
        repeats: batches per measurement; the minimum is reported.
    """

    min_batch_s: float = 0.05
    repeats: int = 7


@dataclass(frozen=True)
class Benchmark:
    """One registered benchmark."""

    name: str
    description: str
    run: Runner


_REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, description: str) -> Callable[[F], F]:
    """Register the decorated ``run(console, settings) -> dict`` as benchmark `name`."""

    def register(run: F) -> F:
        if name in _REGISTRY:
            raise ValueError(f"benchmark {name!r} is registered twice")
        _REGISTRY[name] = Benchmark(name, description, run)
        return run

    return register


def discover() -> dict[str, Benchmark]:
    """Import every public module of this package and return the registered benchmarks."""
    package = sys.modules[__package__ or "bench"]
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    return dict(sorted(_REGISTRY.items()))


@dataclass(frozen=True)
class Timing:
    """The result of one measurement."""

    ns_per_op: float  # best batch, divided by its size
    ops_per_batch: int
    repeats: int

    def as_json(self) -> dict[str, float | int]:
        """The numbers, for ``--json``."""
        return {
            "ns_per_op": round(self.ns_per_op, 1),
            "ops_per_batch": self.ops_per_batch,
            "repeats": self.repeats,
        }


def _time_batch(batch: Batch, items: list[Any]) -> int:
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        batch(items)
        return time.perf_counter_ns() - start
    finally:
        if gc_was_enabled:
            gc.enable()


def _cycle(pool: Sequence[Any], n: int) -> list[Any]:
    """`n` inputs taken round-robin from `pool` (references, not copies)."""
    return (list(pool) * math.ceil(n / len(pool)))[:n]


def _inputs(pool: Sequence[Any] | Fresh, n: int) -> list[Any]:
    """`n` inputs: new ones from a `Fresh` factory, else cycled from the pool."""
    return pool(n) if callable(pool) else _cycle(pool, n)


def _calibrate(batch: Batch, pool: Sequence[Any] | Fresh, settings: Settings) -> list[Any]:
    """Inputs for one batch of the target length.

    The batch size grows tenfold until a batch lasts a tenth of the target, then is scaled
    to reach the target with a 10% margin.
    """
    target_ns = settings.min_batch_s * 1e9
    n = 1
    elapsed = _time_batch(batch, _inputs(pool, n))  # also warms caches and lazy imports
    while elapsed < target_ns / 10 and n < 10_000_000:
        n *= 10
        elapsed = _time_batch(batch, _inputs(pool, n))
    return _inputs(pool, max(n, math.ceil(target_ns * 1.1 / (elapsed / n))))


@dataclass(frozen=True)
class Job:
    """One thing to time: `batch` over inputs cycled from `pool`.

    Args:
        key: names the result.
        pool: the inputs to cycle through, or a `Fresh` factory called before every
            batch (outside the timed section) when inputs must not be reused.
        repeats: batches to run, when fewer than the default (slow peers).
    """

    key: JobKey
    batch: Batch
    pool: Sequence[Any] | Fresh
    repeats: int | None = None


def measure(jobs: Sequence[Job], settings: Settings) -> dict[JobKey, Timing | Exception]:
    """Time every job; return the best time per operation, or the error a job raised.

    Jobs are interleaved: each round runs one batch of every job, in alternating order, so
    a burst of load from another process slows one batch of each job rather than every
    batch of one job, and the minimum of each job still comes from a quiet moment.
    """
    results: dict[JobKey, Timing | Exception] = {}
    inputs: dict[JobKey, list[Any]] = {}
    for job in jobs:
        try:
            inputs[job.key] = _calibrate(job.batch, job.pool, settings)
        except Exception as exc:  # a broken peer is reported, not fatal
            results[job.key] = exc
    live = [job for job in jobs if job.key in inputs]
    best = {job.key: math.inf for job in live}
    rounds = max((job.repeats or settings.repeats for job in live), default=0)
    for round_ in range(rounds):
        for job in live if round_ % 2 == 0 else reversed(live):
            if job.key in results or round_ >= (job.repeats or settings.repeats):
                continue
            try:
                if callable(job.pool) and round_ > 0:
                    inputs[job.key] = job.pool(len(inputs[job.key]))
                best[job.key] = min(best[job.key], _time_batch(job.batch, inputs[job.key]))
            except Exception as exc:
                results[job.key] = exc
    for job in live:
        if job.key not in results:
            n = len(inputs[job.key])
            results[job.key] = Timing(best[job.key] / n, n, job.repeats or settings.repeats)
    return results


def format_ns(ns: float) -> str:
    """A duration with three significant figures: ``812 ns``, ``1.21 µs``, ``3.40 ms``."""
    unit, scale = next(((unit, scale) for unit, scale in _UNITS if ns >= scale), ("ns", 1.0))
    value = ns / scale
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f} {unit}"


_UNITS = (("s", 1e9), ("ms", 1e6), ("µs", 1e3))


def format_ratio(ratio: float) -> str:
    """A ratio against a reference: ``1.00x``, ``38.2x``, ``1520x``."""
    if ratio < 10:
        return f"{ratio:.2f}x"
    if ratio < 1000:
        return f"{ratio:.1f}x"
    return f"{ratio:.0f}x"


def version_of(distribution: str) -> str | None:
    """The installed version of `distribution`, or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Facts about this machine and interpreter, stored with the numbers."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "timer": "time.perf_counter_ns",
        "cryptorails": version_of("cryptorails"),
        "cryptography": version_of("cryptography"),
    }
