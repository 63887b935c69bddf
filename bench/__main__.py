"""``python -m bench [NAME ...] [--json PATH] [--quick]``: run benchmarks, print tables."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from ._harness import Settings, discover, environment


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks. Returns 0 whatever they measure, even if one crashes.

    Only a usage error (an unknown benchmark name, a bad option) exits with 2.
    """
    available = discover()
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run cryptorails benchmarks (all of them when no name is given).",
        epilog="benchmarks: " + "; ".join(f"{b.name}: {b.description}" for b in available.values()),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10 ms batches, 3 repeats: a smoke test, too noisy for conclusions",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in available]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(available)}")
    settings = Settings(min_batch_s=0.01, repeats=3) if args.quick else Settings()

    console = Console()
    if not console.is_terminal:
        console.width = 150  # rich assumes 80 columns for a pipe; keep verdict lines whole
    env = environment()
    console.print(
        f"Python {env['python']} on {env['platform']}; cryptography {env['cryptography']}; "
        f"best of {settings.repeats} batches of >= {settings.min_batch_s * 1000:.0f} ms each",
        highlight=False,
    )
    report: dict[str, Any] = {
        "environment": env,
        "settings": {"min_batch_s": settings.min_batch_s, "repeats": settings.repeats},
        "benchmarks": {},
    }
    for name in args.names or list(available):
        start = time.perf_counter()
        console.rule(f"{name}: {available[name].description}")
        try:
            report["benchmarks"][name] = available[name].run(console, settings)
        except Exception as exc:  # a broken benchmark is reported; it never fails a build
            console.print_exception()
            report["benchmarks"][name] = {"error": f"{type(exc).__name__}: {exc}"}
        console.print(f"[dim]{name} took {time.perf_counter() - start:.0f} s[/dim]")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        console.print(f"wrote {args.json}", highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
