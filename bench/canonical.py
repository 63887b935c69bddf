"""Canonical JSON benchmark: `cryptorails.canonical` against rfc8785 and the json module.

One "mixed" document of about 5 MB (see `_canonical_doc`), built from a fixed seed.
`dumps` is compared with `rfc8785.dumps` (the target: at least 2x faster) and with
``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, which is not
canonical but is the C-speed floor. `loads` is compared with `json.loads` (the target: at
most twice its time) on the canonical bytes. Outputs are checked before timing: our
`dumps` must equal rfc8785's bytes, and our `loads` must return what `json.loads` does.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from cryptorails import canonical

from ._canonical_doc import SEED, mixed_document
from ._harness import Job, Settings, Timing, benchmark, format_ns, format_ratio, measure, version_of

__all__ = ["run"]

_REPEATS = 5  # a batch is one call on a 5 MB document: already well above 50 ms


def _json_dumps(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _batch(function: Callable[[Any], object]) -> Callable[[list[Any]], object]:
    def batch(items: list[Any]) -> object:
        for item in items:
            function(item)
        return None

    return batch


def _subjects(document: Any, encoded: bytes) -> dict[tuple[str, ...], Job]:
    jobs: dict[tuple[str, ...], Job] = {}

    def add(op: str, subject: str, function: Callable[[Any], object], pool: Any) -> None:
        key = (op, subject)
        jobs[key] = Job(key, _batch(function), [pool], _REPEATS)

    add("dumps", "cryptorails", canonical.dumps, document)
    add("dumps", "json", _json_dumps, document)
    add("loads", "cryptorails", functools.partial(canonical.loads, max_bytes=len(encoded)), encoded)
    add("loads", "json", json.loads, encoded)
    try:
        import rfc8785
    except ImportError:
        return jobs
    if rfc8785.dumps(document) != encoded:
        raise RuntimeError("rfc8785 and cryptorails disagree on the canonical bytes")
    add("dumps", "rfc8785", rfc8785.dumps, document)
    return jobs


def _ratio(
    results: dict[tuple[str, ...], Timing | Exception], a: tuple[str, ...], b: tuple[str, ...]
) -> float | None:
    mine, theirs = results.get(a), results.get(b)
    if isinstance(mine, Timing) and isinstance(theirs, Timing):
        return mine.ns_per_op / theirs.ns_per_op
    return None


@benchmark("canonical", "canonical JSON dumps/loads on a mixed 5 MB document vs rfc8785 and json")
def run(console: Console, settings: Settings) -> dict[str, Any]:
    """Build the document, check outputs agree, time every subject, print the verdicts."""
    with console.status("canonical: building the document"):
        document = mixed_document()
        encoded = canonical.dumps(document)
        if canonical.loads(encoded, max_bytes=len(encoded)) != json.loads(encoded):
            raise RuntimeError("cryptorails.canonical.loads disagrees with json.loads")
        jobs = _subjects(document, encoded)
    with console.status("canonical: measuring"):
        results = measure(list(jobs.values()), settings)

    table = Table(title=f"canonical JSON, {len(encoded) / 1e6:.2f} MB document (seed {SEED})")
    for column in ("op", "subject", "time", "vs cryptorails"):
        table.add_column(column, justify="right" if column != "subject" else "left")
    for (op, subject), job in jobs.items():
        timing = results[job.key]
        if isinstance(timing, Exception):
            table.add_row(op, subject, f"failed: {type(timing).__name__}", "")
            continue
        ratio = _ratio(results, job.key, (op, "cryptorails"))
        table.add_row(
            op, subject, format_ns(timing.ns_per_op), format_ratio(ratio) if ratio else ""
        )
    console.print(table)

    dumps_speedup = _ratio(results, ("dumps", "rfc8785"), ("dumps", "cryptorails"))
    loads_slowdown = _ratio(results, ("loads", "cryptorails"), ("loads", "json"))
    floor = _ratio(results, ("dumps", "cryptorails"), ("dumps", "json"))
    verdicts: list[tuple[str, float | None, Callable[[float], bool]]] = [
        ("dumps at least 2x faster than rfc8785.dumps (speedup)", dumps_speedup, lambda r: r >= 2),
        ("loads at most 2x the time of json.loads (slowdown)", loads_slowdown, lambda r: r <= 2),
    ]
    console.print("[bold]Targets[/bold]")
    out_targets = []
    for text, value, good in verdicts:
        met = None if value is None else good(value)
        mark = {True: "[green]met   [/]", False: "[red]MISSED[/]", None: "[yellow]n/a   [/]"}[met]
        shown = "n/a" if value is None else f"{value:.3f}x"
        console.print(f"  {mark} {text}: {shown}", highlight=False)
        out_targets.append({"target": text, "ratio": value, "met": met})
    if floor is not None:
        console.print(
            f"  [dim]info  [/] dumps vs json.dumps(sort_keys) floor: {floor:.3f}x", highlight=False
        )
    return {
        "document_bytes": len(encoded),
        "seed": SEED,
        "rfc8785": version_of("rfc8785"),
        "results": {
            f"{op}/{subject}": timing.as_json() if isinstance(timing, Timing) else repr(timing)
            for (op, subject), timing in results.items()
        },
        "targets": out_targets,
    }
