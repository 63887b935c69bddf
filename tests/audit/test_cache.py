"""The per-file result cache (`scan(..., cache=directory)`): a warm scan gives exactly
what a full scan gives, and anything that could change a result starts it over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cryptorails.audit import all_rules, scan

RULES = list(all_rules().values())


_VULNERABLE = """
import time
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def seal(key, data):
    nonce = int(time.time()).to_bytes(12, "big")
    return AESGCM(key).encrypt(nonce, data, None)
"""


def _tree(root: Path, count: int = 60) -> None:
    for i in range(count):
        body = _VULNERABLE if i % 4 == 0 else "x = 1\n"
        (root / f"m{i:02}.py").write_text(body + ("def broken(:\n" if i == 7 else ""))


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_warm_cache_gives_exactly_what_a_full_scan_gives(tmp_path: Path, jobs: int) -> None:
    src, cache = tmp_path / "src", tmp_path / "cache"
    src.mkdir()
    _tree(src)
    full = scan([src], RULES, jobs=jobs)
    cold = scan([src], RULES, jobs=jobs, cache=cache)
    warm = scan([src], RULES, jobs=jobs, cache=cache)
    for result in (cold, warm):
        assert (result.findings, result.warnings) == (full.findings, full.warnings)
        assert result.files == full.files == 60
    assert len(full.findings) == 15
    assert (cold.cached, cold.parsed) == (0, full.parsed)
    assert (warm.cached, warm.parsed) == (60, 0)


def test_the_cache_rescans_a_changed_file_and_only_that_one(tmp_path: Path) -> None:
    src, cache = tmp_path / "src", tmp_path / "cache"
    src.mkdir()
    _tree(src)
    scan([src], RULES, jobs=1, cache=cache)
    (src / "m00.py").write_text("x = 2\n")  # was vulnerable
    (src / "m01.py").write_text(_VULNERABLE)  # was clean
    again = scan([src], RULES, jobs=1, cache=cache)
    assert again.cached == 58
    assert again.findings == scan([src], RULES, jobs=1).findings
    assert {Path(f.path).name for f in again.findings} >= {"m01.py"}
    assert "m00.py" not in {Path(f.path).name for f in again.findings}


def test_the_cache_belongs_to_one_rule_selection(tmp_path: Path) -> None:
    src, cache = tmp_path / "src", tmp_path / "cache"
    src.mkdir()
    _tree(src)
    scan([src], RULES, jobs=1, cache=cache)
    other = [r for r in RULES if r.code != "CR0101"]
    narrowed = scan([src], other, jobs=1, cache=cache)
    assert narrowed.cached == 0  # another selection: nothing reused
    assert "CR0101" not in {f.rule for f in narrowed.findings}
    assert scan([src], other, jobs=1, cache=cache).cached == 60


@pytest.mark.parametrize(
    "stored",
    [
        b"not json",
        b"[]",
        b'{"fingerprint": "old", "files": {}}',
    ],
)
def test_a_broken_or_foreign_cache_is_ignored_and_rewritten(tmp_path: Path, stored: bytes) -> None:
    src, cache = tmp_path / "src", tmp_path / "cache"
    src.mkdir()
    cache.mkdir()
    _tree(src, 8)
    (cache / "audit-results.json").write_bytes(stored)
    result = scan([src], RULES, jobs=1, cache=cache)
    assert result.cached == 0
    assert result.findings == scan([src], RULES, jobs=1).findings
    assert scan([src], RULES, jobs=1, cache=cache).cached == 8


def test_a_malformed_entry_is_a_miss_not_a_crash(tmp_path: Path) -> None:
    src, cache = tmp_path / "src", tmp_path / "cache"
    src.mkdir()
    _tree(src, 8)
    scan([src], RULES, jobs=1, cache=cache)
    stored = json.loads((cache / "audit-results.json").read_text())
    for entry in stored["files"].values():
        entry[3] = [["path", "one", 1, "CR0101", "n", 1, "high", "m", "f"]]  # line: a str
    (cache / "audit-results.json").write_text(json.dumps(stored))
    result = scan([src], RULES, jobs=1, cache=cache)
    assert result.cached == 0
    assert result.findings == scan([src], RULES, jobs=1).findings
