"""AEAD benchmark: `Sealer.seal`/`Sealer.open` against raw AES-GCM and peer libraries.

For each message size the table shows the time per operation and its ratio to the floor:
pyca `cryptography` AES-256-GCM used the way a careful user stores a message
(``nonce = os.urandom(12); nonce + aesgcm.encrypt(nonce, pt, None)`` with a pre-built
AESGCM; open with ``aesgcm.decrypt(blob[:12], blob[12:], None)`` or with a memoryview
instead of the ``blob[12:]`` copy, whichever is faster at that size, so the floor is the
best raw usage). Open batches read a pool of distinct blobs sealed just before.

The XAES column opens blobs sealed by this process moments ago, so their subkey is cached
(the common case: a batch prefix serves 4096 seals). The cold column opens blobs that
each carry a new nonce prefix, so every open derives its subkey (see `_aead_subjects`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from ._aead_subjects import Subject, subjects
from ._harness import Job, Settings, Timing, benchmark, format_ns, format_ratio, measure

__all__ = ["SIZES", "run"]

SIZES = (64, 1024, 64 * 1024, 1024 * 1024)
OPS = ("seal", "open")
_POOL_BYTES = 4 * 1024 * 1024  # open pools: up to 256 blobs, about 4 MiB at most
FLOOR = "floor"
XAES, XAES_COLD, TINK_XAES = "cryptorails_xaes", "cryptorails_xaes_cold", "tink_xaes"
ESDK, ESDK_UNSIGNED = "esdk", "esdk_unsigned"

# (size, subject key, op) -> (timing, open variant)
Results = dict[tuple[int, str, str], tuple[Timing, str]]


def size_label(size: int) -> str:
    """``64 B``, ``1 KiB``, ``64 KiB``, ``1 MiB``."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


def _pool_size(size: int) -> int:
    return min(256, max(4, _POOL_BYTES // size))


def _jobs(key: str, subject: Subject, size: int, pt: bytes) -> list[Job]:
    """The timed jobs of one subject at one size, after a checked round trip."""
    if subject.open(subject.seal(pt)) != pt:
        raise RuntimeError("round trip returned different bytes")
    jobs = []
    if subject.seal_batch is not None:
        jobs.append(Job((key, "seal", ""), subject.seal_batch, [pt], subject.repeats))
    pool = [subject.seal(pt) for _ in range(_pool_size(size))]
    warning = subject.check_pool(pool)
    if warning:
        raise RuntimeError(warning)
    for variant, batch in subject.opens.items():
        jobs.append(Job((key, "open", variant), batch, pool, subject.repeats))
    return jobs


def _measure_size(
    size: int, live: dict[str, Subject], settings: Settings, failures: dict[str, str]
) -> Results:
    """Time every live subject at `size`; move the ones that fail to `failures`."""
    pt = os.urandom(size)
    jobs: list[Job] = []
    for key, subject in list(live.items()):
        try:
            jobs += _jobs(key, subject, size, pt)
        except Exception as exc:  # report the peer, keep going
            failures[key] = f"failed at {size_label(size)}: {type(exc).__name__}: {exc}"
            del live[key]
    results: Results = {}
    for job_key, timing in measure(jobs, settings).items():
        key, op, variant = job_key
        if isinstance(timing, Exception):
            failures[key] = f"failed at {size_label(size)}: {type(timing).__name__}: {timing}"
            live.pop(key, None)
            continue
        best = results.get((size, key, op))
        if best is None or timing.ns_per_op < best[0].ns_per_op:
            results[(size, key, op)] = (timing, variant)
    return {where: entry for where, entry in results.items() if where[1] in live}


def _cell(results: Results, size: int, key: str, op: str) -> str:
    entry = results.get((size, key, op))
    if entry is None:
        return "—"
    floor = results.get((size, FLOOR, op))
    ratio = f" ({format_ratio(entry[0].ns_per_op / floor[0].ns_per_op)})" if floor else ""
    return format_ns(entry[0].ns_per_op) + ratio


def _table(results: Results, columns: list[tuple[str, str]]) -> Table:
    table = Table(
        title="AEAD: time per operation (ratio to the floor, lower is better)",
        caption="floor: raw pyca AES-256-GCM, open by slicing or memoryview, whichever is "
        "faster. XAES cold open: a new nonce prefix per blob. AWS ESDK: best of 3 batches.",
    )
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("op", no_wrap=True)
    for _, label in columns:
        table.add_column(label, justify="right", no_wrap=True)
    for size in SIZES:
        for op in OPS:
            cells = [_cell(results, size, key, op) for key, _ in columns]
            table.add_row(size_label(size) if op == "seal" else "", op, *cells)
        if size != SIZES[-1]:
            table.add_section()
    return table


def _print_wide(console: Console, table: Table) -> None:
    """Print without squeezing columns, even when stdout is a pipe (80 columns to rich)."""
    needed = console.measure(table, options=console.options.update_width(1000)).maximum
    saved = console.width
    console.width = max(saved, needed)
    try:
        console.print(table)
    finally:
        console.width = saved


def _ns(results: Results, size: int, key: str, op: str) -> float | None:
    entry = results.get((size, key, op))
    return entry[0].ns_per_op if entry else None


Pairs = list[tuple[str, float | None]]


def _verdict(target: str, pairs: Pairs, good: Callable[[float], bool] | None) -> dict[str, Any]:
    """One target line: `pairs` are (what, ratio); `good` is None for an information line."""
    values = [r for _, r in pairs]
    if all(r is None for r in values):
        detail = "not measured (a subject is missing)"
    else:
        # three decimals below 10x, so that 1.104x does not print as a "1.10x" that missed
        detail = ", ".join(
            f"{what} n/a" if r is None else f"{what} {r:.3f}x" if r < 10 else f"{what} {r:.0f}x"
            for what, r in pairs
        )
    met = None
    if good is not None and None not in values:
        met = all(good(r) for r in values if r is not None)
    return {
        "target": target,
        "kind": "info" if good is None else "target",
        "met": met,
        "detail": detail,
    }


def _verdicts(results: Results) -> list[dict[str, Any]]:
    """The targets, each with its numbers and whether it is met, plus context lines."""

    def ratio(size: int, key: str, op: str, against: str) -> float | None:
        mine, theirs = _ns(results, size, key, op), _ns(results, size, against, op)
        return mine / theirs if mine is not None and theirs is not None else None

    def speedup(size: int, op: str, against: str) -> float | None:
        slower = ratio(size, XAES, op, against)
        return 1 / slower if slower else None

    def at_most(limit: float) -> Callable[[float], bool]:
        return lambda r: r <= limit

    out = [
        _verdict(
            f"XAES within {limit:.2f}x of the floor at {size_label(size)}",
            [(op, ratio(size, XAES, op, FLOOR)) for op in OPS],
            at_most(limit),
        )
        for size, limit in ((64, 1.5), (64 * 1024, 1.10))
    ]
    vs_tink: Pairs = [
        (f"{op} {size_label(size)}", ratio(size, XAES, op, TINK_XAES))
        for size in SIZES
        for op in OPS
    ]
    out.append(_verdict("XAES ahead of Tink XAES at every size", vs_tink, lambda r: r < 1))
    out.append(
        _verdict(
            "XAES cold open vs Tink XAES open",
            [(size_label(size), ratio(size, XAES_COLD, "open", TINK_XAES)) for size in SIZES],
            None,
        )
    )
    out.append(
        _verdict(
            "XAES > 100x faster than AWS ESDK (default suite) at 1 KiB (speedup)",
            [(op, speedup(1024, op, ESDK)) for op in OPS],
            lambda r: r > 100,
        )
    )
    out.append(
        _verdict(
            "XAES vs AWS ESDK with the unsigned committing suite at 1 KiB (speedup)",
            [(op, speedup(1024, op, ESDK_UNSIGNED)) for op in OPS],
            None,
        )
    )
    return out


def _print_verdicts(console: Console, verdicts: list[dict[str, Any]]) -> None:
    console.print("[bold]Targets[/bold] (ratios: XAES time / other time; speedups: the inverse)")
    marks = {True: "[green]met   [/]", False: "[red]MISSED[/]", None: "[yellow]n/a   [/]"}
    for verdict in verdicts:
        mark = "[dim]info  [/]" if verdict["kind"] == "info" else marks[verdict["met"]]
        console.print(f"  {mark} {verdict['target']}: {verdict['detail']}", highlight=False)


def _result_json(results: Results, size: int, key: str, op: str) -> dict[str, Any]:
    timing, variant = results[(size, key, op)]
    floor = _ns(results, size, FLOOR, op)
    return {
        "size": size,
        "subject": key,
        "op": op,
        **timing.as_json(),
        "ratio_to_floor": round(timing.ns_per_op / floor, 4) if floor else None,
        **({"variant": variant} if variant else {}),
    }


@benchmark("aead", "AEAD seal/open: cryptorails Sealer vs raw AES-GCM, Tink, AWS ESDK")
def run(console: Console, settings: Settings) -> dict[str, Any]:
    """Measure every available subject at every size; print the table and verdicts."""
    built = subjects()
    live = {key: s for key, _, s in built if isinstance(s, Subject)}
    labels = {key: label.replace("\n", " ") for key, label, _ in built}
    failures = {key: s for key, _, s in built if isinstance(s, str)}
    results: Results = {}
    for size in SIZES:
        with console.status(f"aead: {size_label(size)} messages"):
            results.update(_measure_size(size, live, settings, failures))

    measured_keys = {key for _, key, _ in results}
    columns = [(key, label) for key, label, _ in built if key in measured_keys]
    table = _table(results, columns)
    _print_wide(console, table)
    floor_variants = {
        size: results[(size, FLOOR, "open")][1]
        for size in SIZES
        if (size, FLOOR, "open") in results
    }
    console.print(
        "floor open, the faster per size: "
        + ", ".join(f"{size_label(s)} {v}" for s, v in floor_variants.items()),
        highlight=False,
    )
    for key, why in failures.items():
        console.print(f"{labels[key]}: {why}", highlight=False)
    verdicts = _verdicts(results)
    _print_verdicts(console, verdicts)

    subjects_json: dict[str, Any] = {}
    for key, _label, built_subject in built:
        info: dict[str, Any] = {"label": labels[key]}
        if isinstance(built_subject, Subject):
            info.update(version=built_subject.version, note=built_subject.note)
        if key in failures:
            info["unavailable"] = failures[key]
        subjects_json[key] = info
    return {
        "sizes": list(SIZES),
        "subjects": subjects_json,
        "floor_open_variant": {str(s): v for s, v in floor_variants.items()},
        "results": [_result_json(results, *where) for where in results],
        "targets": verdicts,
    }
