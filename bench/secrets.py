"""Secrets-scanner benchmark: MB/s on a 20 MB JSON-lines log, and recall on the corpus.

Throughput, one process, one core, no pool:

- bare pass: ``len(re.findall(rb"[A-Za-z0-9+/]{32,}", data))`` over the same bytes in
  memory: a single regex pass of the kind every entropy- or pattern-based scanner makes
  at least once (it finds long base64-ish runs and nothing more). This is the reference
  the ratios are taken against.
- cryptorails, in memory: `find_secrets_bytes(data)`: all detectors, no file I/O.
- cryptorails, file: `scan_file` on the file: open, memory-map, detect, compute line and
  column, fingerprint and mask each finding. This is what ``cryptorails secrets`` does
  per file.
- detect-secrets: ``SecretsCollection().scan_file(path)`` under ``default_settings()``
  (its default plugins and filters). It is far slower, so it is measured on the first
  1 MB of the same log (cut at a line end), fewer times, and reported in MB/s of that
  prefix; the table says so.

The log is generated from a fixed seed in a temporary folder: realistic JSON log lines
(ids, trace ids, UUIDs, URLs, user agents, words like "token" and "password" in
messages) with one line in 2,500 carrying a real-looking secret from the corpus
generator.

Detection quality: recall (a labelled secret is reported, any kind) and false
positives (a clean line or trap reported) on tests/secrets_scan/corpus.py, for both
tools. detect-secrets scans each sample as its own file (so that it cannot fold
repeated samples into one finding); cryptorails runs `find_secrets_bytes` on the same
bytes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.table import Table

from cryptorails.redact._detectors import find_secrets_bytes
from cryptorails.secrets_scan import ScanConfig, scan_file

from ._harness import Job, Settings, Timing, benchmark, format_ratio, measure, version_of

__all__ = ["BARE_PASS", "run"]

SIZE = 20_000_000
PREFIX = 1_000_000
SEED = 20240501
SECRET_EVERY = 2500  # lines
BARE_PASS = re.compile(rb"[A-Za-z0-9+/]{32,}")
BARE, MEMORY, FILE, DETECT_SECRETS = "bare", "memory", "file", "detect-secrets"
LABELS = {
    BARE: 're.findall(rb"[A-Za-z0-9+/]{32,}") (bare pass)',
    MEMORY: "cryptorails find_secrets_bytes (in memory)",
    FILE: "cryptorails scan_file (mmap, located, masked)",
    DETECT_SECRETS: "detect-secrets scan_file (default plugins), 1 MB prefix",
}
_WORDS = [
    "request",
    "completed",
    "processing",
    "order",
    "payment",
    "invoice",
    "cache",
    "miss",
    "hit",
    "database",
    "query",
    "latency",
    "service",
    "gateway",
    "upstream",
    "retry",
    "timeout",
    "connection",
    "established",
    "closed",
    "token",
    "refreshed",
    "password",
    "reset",
    "email",
    "sent",
    "secret",
    "rotation",
    "scheduled",
    "session",
    "expired",
    "user",
]


def _corpus_module() -> ModuleType:
    """tests/secrets_scan/corpus.py (the tests folder is not a package)."""
    path = Path(__file__).resolve().parent.parent / "tests" / "secrets_scan" / "corpus.py"
    spec = importlib.util.spec_from_file_location("_secrets_corpus", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def make_log(path: Path, size: int = SIZE, seed: int = SEED) -> int:
    """Write the benchmark log; returns the number of lines carrying a secret."""
    corpus = _corpus_module()
    rng = random.Random(seed)
    secrets = [s.text for s in corpus.corpus(seed=seed, repeat=2) if s.kind and "\n" not in s.text]
    hexd = "0123456789abcdef"
    parts: list[str] = []
    written = planted = i = 0
    while written < size:
        i += 1
        record: dict[str, Any] = {
            "ts": f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z",
            "level": rng.choice(["info", "info", "info", "warn", "error", "debug"]),
            "msg": " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12))),
            "trace_id": "".join(rng.choice(hexd) for _ in range(32)),
            "span_id": "".join(rng.choice(hexd) for _ in range(16)),
            "http": {
                "method": rng.choice(["GET", "POST", "PUT"]),
                "url": f"https://api.example.com/v1/orders/{rng.randint(1, 99999)}"
                f"?page={rng.randint(1, 9)}",
                "status": rng.choice([200, 201, 204, 404, 500]),
                "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
            },
            "duration_ms": round(rng.random() * 100, 3),
            "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        }
        if i % SECRET_EVERY == 0:
            record["detail"] = rng.choice(secrets)
            planted += 1
        line = json.dumps(record) + "\n"
        parts.append(line)
        written += len(line)
    path.write_text("".join(parts))
    return planted


def _detect_secrets_scan() -> Callable[[Path], int]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    def scan(path: Path) -> int:
        with default_settings():
            collection = SecretsCollection()
            collection.scan_file(str(path))
        return sum(len(found) for _, found in collection.data.items())

    return scan


def _quality(directory: Path) -> dict[str, dict[str, Any]]:
    """Recall and false positives on the corpus, for both tools."""
    corpus = _corpus_module()
    samples = corpus.corpus()
    directory.mkdir()
    files = []
    for n, sample in enumerate(samples):
        path = directory / f"sample{n:04d}.log"
        path.write_text(sample.text + "\n")
        files.append(path)
    tools: dict[str, Callable[[Path], int]] = {
        "cryptorails": lambda p: len(find_secrets_bytes(p.read_bytes())),
    }
    with contextlib.suppress(ImportError):
        tools["detect-secrets"] = _detect_secrets_scan()
    out: dict[str, dict[str, Any]] = {}
    for name, count in tools.items():
        hits = [count(p) > 0 for p in files]
        positives = [h for h, s in zip(hits, samples, strict=True) if s.kind]
        clean = [h for h, s in zip(hits, samples, strict=True) if not s.kind and not s.trap]
        traps = [h for h, s in zip(hits, samples, strict=True) if s.trap]
        out[name] = {
            "recall": sum(positives) / len(positives),
            "positives": len(positives),
            "fp_clean": sum(clean),
            "clean": len(clean),
            "fp_traps": sum(traps),
            "traps": len(traps),
        }
    return out


def _once(f: Callable[[], object]) -> Callable[[list[Any]], object]:
    def batch(items: list[Any]) -> object:
        for _ in items:
            f()
        return None

    return batch


@benchmark(
    "secrets",
    "secrets scanner MB/s on a 20 MB JSON-lines log vs a bare regex pass and detect-secrets",
)
def run(console: Console, settings: Settings) -> dict[str, Any]:
    """Generate the log, time every scanner, print throughput and corpus quality."""
    with tempfile.TemporaryDirectory(prefix="bench-secrets-") as tmp:
        directory = Path(tmp)
        log = directory / "app.jsonl"
        with console.status("secrets: generating the 20 MB log"):
            planted = make_log(log)
        data = log.read_bytes()
        prefix_path = directory / "prefix.jsonl"
        prefix = data[: data.rindex(b"\n", 0, PREFIX) + 1]
        prefix_path.write_bytes(prefix)
        config = ScanConfig(salt=b"\0" * 32)
        found_file = len(scan_file(log, str(log), config, None)[0])
        jobs = [
            Job((BARE,), _once(lambda: len(BARE_PASS.findall(data))), [None]),
            Job((MEMORY,), _once(lambda: find_secrets_bytes(data)), [None]),
            Job((FILE,), _once(lambda: scan_file(log, str(log), config, None)), [None]),
        ]
        sizes = {BARE: len(data), MEMORY: len(data), FILE: len(data), DETECT_SECRETS: len(prefix)}
        failures: dict[str, str] = {}
        try:
            ds = _detect_secrets_scan()
            jobs.append(Job((DETECT_SECRETS,), _once(lambda: ds(prefix_path)), [None], repeats=2))
        except ImportError as exc:
            failures[DETECT_SECRETS] = f"not installed ({exc})"
        with console.status("secrets: timing (one core, no pool)"):
            timings = measure(jobs, settings)
        with console.status("secrets: corpus recall"):
            start = time.perf_counter()
            quality = _quality(directory / "corpus")
            quality_s = time.perf_counter() - start
    results: dict[str, Timing] = {}
    for (name,), timing in timings.items():
        if isinstance(timing, Exception):
            failures[name] = f"{type(timing).__name__}: {timing}"
        else:
            results[name] = timing
    mbps = {k: sizes[k] / (t.ns_per_op / 1e9) / 1e6 for k, t in results.items()}
    table = Table(
        title=f"Secrets scan throughput, one core: {len(data) / 1e6:.1f} MB JSON lines, "
        f"{planted} planted secrets",
        caption="ratio = time per MB / the bare pass's (lower is better). Bare pass: "
        're.findall(rb"[A-Za-z0-9+/]{32,}") over the bytes in memory.',
    )
    for column in ("scanner", "input", "MB/s", "vs bare pass"):
        table.add_column(column, justify="left" if column == "scanner" else "right")
    for key in (BARE, MEMORY, FILE, DETECT_SECRETS):
        if key not in mbps:
            table.add_row(LABELS[key], "", "—", "")
            continue
        ratio = mbps[BARE] / mbps[key] if BARE in mbps else None
        size = f"{sizes[key] / 1e6:.1f} MB"
        table.add_row(LABELS[key], size, f"{mbps[key]:,.1f}", format_ratio(ratio) if ratio else "")
    console.print(table)
    console.print(
        f"cryptorails scan_file reported {found_file} findings in the log", highlight=False
    )
    quality_table = Table(title="Labelled corpus (tests/secrets_scan/corpus.py, seeded)")
    for column in ("tool", "recall", "FP clean lines", "FP traps"):
        quality_table.add_column(column, justify="left" if column == "tool" else "right")
    for name, q in quality.items():
        quality_table.add_row(
            name,
            f"{q['recall']:.3f} ({round(q['recall'] * q['positives'])}/{q['positives']})",
            f"{q['fp_clean']}/{q['clean']}",
            f"{q['fp_traps']}/{q['traps']}",
        )
    console.print(quality_table)
    console.print(f"corpus scored in {quality_s:.1f} s", highlight=False)
    for name, why in failures.items():
        console.print(f"{LABELS.get(name, name)}: {why}", highlight=False)
    return {
        "log_bytes": len(data),
        "prefix_bytes": len(prefix),
        "planted": planted,
        "found": found_file,
        "bare_pass": BARE_PASS.pattern.decode(),
        "detect_secrets": version_of("detect-secrets"),
        "mb_per_s": {k: round(v, 1) for k, v in mbps.items()},
        "timings": {k: t.as_json() for k, t in results.items()},
        "quality": quality,
        "unavailable": failures,
    }
