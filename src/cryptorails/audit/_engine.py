"""The scan: find files, prefilter, parse once, run every selected rule, suppress.

Speed comes from three choices. A file is read once and checked against the literal words
each rule needs (`Rule.requires`); a file that could not trigger any selected rule is
never parsed, which is most files of a typical tree. A parsed file is indexed by one walk
(`FileContext`), and each rule then sees only the node types it asked for. Files are
spread over a process pool when there are enough of them to pay for it.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import multiprocessing
import os
import re
import sys
import tokenize
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Rule, all_rules

__all__ = ["DEFAULT_EXCLUDE", "FileResult", "ScanResult", "check_source", "find_files", "scan"]

DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    "node_modules",
    "build",
    "dist",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
)
_POOL_MIN_FILES = 48
# ``# cryptorails: ignore[CR0501, CR0502] reason`` — a reason is required (CR0001 reports
# a suppression without one, and it then suppresses nothing).
SUPPRESSION = re.compile(rb"#\s*cryptorails:\s*ignore\[([A-Z0-9,\s]*)\][ \t]*([^\r\n]*)")
_MAX_SOURCE_BYTES = 8 * 1024 * 1024


@dataclass
class FileResult:
    """What scanning one file gave."""

    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    parsed: bool = False
    suppressed: int = 0


@dataclass
class ScanResult:
    """What a whole scan gave."""

    findings: list[Finding]
    warnings: list[str]
    files: int
    parsed: int
    suppressed: int


def find_files(paths: Iterable[Path], exclude: Sequence[str] = ()) -> list[Path]:
    """The Python files under `paths`, sorted, without excluded ones.

    A pattern excludes a file when it matches the path relative to the scanned root, or
    any single component of it (``tests/fixtures/*`` and ``migrations`` both work).
    Files named explicitly are always scanned.
    """
    patterns = (*DEFAULT_EXCLUDE, *exclude)
    out: set[Path] = set()
    for root in paths:
        if root.is_file():
            out.add(root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = Path(dirpath).relative_to(root)
            dirnames[:] = [d for d in dirnames if not _excluded(rel_dir / d, patterns)]
            for name in filenames:
                if name.endswith(".py") and not _excluded(rel_dir / name, patterns):
                    out.add(Path(dirpath) / name)
    return sorted(out)


def _excluded(rel: Path, patterns: Sequence[str]) -> bool:
    text = rel.as_posix()
    return any(fnmatch.fnmatchcase(text, p) or fnmatch.fnmatchcase(rel.name, p) for p in patterns)


_WORD = re.compile(rb"[a-z0-9_]+")


class Prefilter:
    """Which rules can fire in a file, decided from its text before any parsing.

    Each rule needs some words (`Rule.requires`, a conjunction of alternatives). Testing
    hundreds of words against every file one by one costs more than parsing, so the file
    is reduced once to its distinct identifier-like tokens (``[a-z0-9_]+`` runs, joined),
    usually a small fraction of its size. A word made only of those characters occurs in
    the file exactly when it occurs in that string; any other word is looked for in the
    whole text, and only when its longest identifier-like part occurs at all. Words are
    checked lazily, at most once per file.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._rules = [(r, r.requires) for r in rules]
        self._core: dict[bytes, bytes | None] = {}
        for rule in rules:
            for group in rule.requires:
                for word in group:
                    runs = _WORD.findall(word)
                    self._core[word] = max(runs, key=len) if runs else None

    def select(self, lowered: bytes) -> list[Rule]:
        tokens = b" ".join(set(_WORD.findall(lowered)))
        core = self._core
        memo: dict[bytes, bool] = {}

        def has(word: bytes) -> bool:
            found = memo.get(word)
            if found is None:
                part = core[word]
                if part == word:
                    found = word in tokens
                elif part is not None and part not in tokens:
                    found = False
                else:
                    found = word in lowered
                memo[word] = found
            return found

        return [rule for rule, cnf in self._rules if all(any(map(has, g)) for g in cnf)]


_PREFILTERS: dict[tuple[str, ...], Prefilter] = {}


def _prefilter(rules: Sequence[Rule]) -> Prefilter:
    key = tuple(r.code for r in rules)
    found = _PREFILTERS.get(key)
    if found is None:
        found = _PREFILTERS[key] = Prefilter(rules)
    return found


def check_source(source: bytes, path: str, rules: Sequence[Rule]) -> FileResult:
    """Run `rules` over one file's source. Never raises for bad input: a file that cannot
    be parsed gives a warning and no findings."""
    result = FileResult()
    active = _prefilter(rules).select(source.lower())
    if not active:
        return result
    if len(source) > _MAX_SOURCE_BYTES:
        result.warnings.append(f"{path}: larger than {_MAX_SOURCE_BYTES} bytes; skipped")
        return result
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not ours
            tree = ast.parse(source, filename=path)
        ctx = FileContext(path, source, tree)
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError) as e:
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) and e.lineno else ""
        result.warnings.append(f"{path}: cannot parse{where}; skipped")
        return result
    result.parsed = True
    found: list[Finding] = []
    for rule in active:
        ctx.rule = rule
        for node_type in rule.nodes:
            for node in ctx.by_type.get(node_type, ()):
                try:
                    found.extend(rule.check(node, ctx))
                except RecursionError:
                    result.warnings.append(f"{path}: {rule.code} gave up on a deep expression")
                except Exception as e:  # a rule's bug must not end the whole scan
                    line = getattr(node, "lineno", "?")
                    result.warnings.append(
                        f"{path}:{line}: internal error in {rule.code} ({type(e).__name__}); "
                        "please report it"
                    )
    ctx.rule = None
    suppressions = _suppressions(source) if b"cryptorails:" in source else {}
    for finding in sorted(set(found)):
        if finding.rule in suppressions.get(finding.line, ()):
            result.suppressed += 1
        else:
            result.findings.append(finding)
    return result


@dataclass(frozen=True)
class Suppression:
    """One ``# cryptorails: ignore[...] reason`` comment."""

    line: int
    column: int  # 0-based byte offset, as in the AST
    codes: frozenset[str]
    reason: str
    alone: bool  # the comment is the only thing on its line: it covers the next line


def suppression_comments(source: bytes) -> list[Suppression]:
    """The suppression comments of a module (real comments only, never string text)."""
    out: list[Suppression] = []
    lines = source.splitlines()
    try:
        for token in tokenize.tokenize(io.BytesIO(source).readline):
            if token.type != tokenize.COMMENT or "cryptorails:" not in token.string:
                continue
            line, col = token.start
            raw = lines[line - 1] if line <= len(lines) else b""
            offset = len(raw.decode("utf-8", "replace")[:col].encode())
            match = SUPPRESSION.search(raw, offset)
            if match is None:
                continue
            codes = frozenset(c.strip().decode() for c in match[1].split(b",") if c.strip())
            reason = match[2].decode("utf-8", "replace").strip()
            out.append(Suppression(line, offset, codes, reason, not raw[:offset].strip()))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        pass  # the file parsed, so this is an edge of tokenize; keep what was found
    return out


def _suppressions(source: bytes) -> dict[int, set[str]]:
    """Line → codes suppressed there by comments that give a reason."""
    out: dict[int, set[str]] = {}
    for s in suppression_comments(source):
        if s.reason:
            out.setdefault(s.line, set()).update(s.codes)
            if s.alone:
                out.setdefault(s.line + 1, set()).update(s.codes)
    return out


def _scan_file(path: Path, codes: tuple[str, ...]) -> FileResult:
    rules = all_rules()
    selected = [rules[c] for c in codes]
    try:
        source = path.read_bytes()
    except OSError as e:
        return FileResult(warnings=[f"{path}: cannot read ({e.strerror or e}); skipped"])
    return check_source(source, str(path), selected)


def _scan_chunk(args: tuple[list[Path], tuple[str, ...]]) -> list[FileResult]:
    paths, codes = args
    return [_scan_file(p, codes) for p in paths]


def scan(
    paths: Iterable[Path],
    rules: Sequence[Rule],
    *,
    exclude: Sequence[str] = (),
    jobs: int | None = None,
) -> ScanResult:
    """Scan files and directories with `rules`.

    Args:
        paths: files and directories (directories are walked for ``*.py``).
        rules: the selected rules.
        exclude: glob patterns, added to `DEFAULT_EXCLUDE`.
        jobs: worker processes (default: the CPU count; 1 scans in this process).
    """
    files = find_files(paths, exclude)
    codes = tuple(r.code for r in rules)
    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    results: Iterator[FileResult]
    if jobs > 1 and len(files) >= _POOL_MIN_FILES:
        results = _pooled(files, codes, jobs)
    else:
        results = (_scan_file(p, codes) for p in files)
    findings: list[Finding] = []
    messages: list[str] = []
    parsed = suppressed = 0
    for r in results:
        findings.extend(r.findings)
        messages.extend(r.warnings)
        parsed += r.parsed
        suppressed += r.suppressed
    return ScanResult(sorted(findings), messages, len(files), parsed, suppressed)


def _pooled(files: list[Path], codes: tuple[str, ...], jobs: int) -> Iterator[FileResult]:
    # Small interleaved chunks: big files cluster in some directories, and one worker
    # holding all of them would leave the others idle.
    chunks = [(files[i :: jobs * 4], codes) for i in range(jobs * 4)]
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    all_rules()  # loaded before forking, so workers inherit the registry
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method)) as pool:
        for chunk in pool.map(_scan_chunk, chunks):
            yield from chunk
