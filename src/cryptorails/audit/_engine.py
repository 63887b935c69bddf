"""The scan: find files, prefilter, parse once, run every selected rule, suppress.

Speed comes from four choices. A file is read once and checked against the literal words
each rule needs (`Rule.requires`, all found in one pass: `_words.Prefilter`), then
against the finer text test of the rules that have one (`Rule.confirm`); a file that
could not trigger any selected rule is never parsed, which is most files of a typical
tree. A parsed file is indexed by one walk (`FileContext`), and each rule then sees only
the node types it asked for. Files are spread over worker processes (`_pool.Workers`)
when there are enough of them to pay for it. Neither test may skip a file where a rule
could report: the words are compared with `Rule.could_match` and each confirm with its
rule in the tests.
"""

from __future__ import annotations

import ast
import contextlib
import fnmatch
import gc
import io
import os
import re
import tokenize
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Rule
from cryptorails.audit._words import Prefilter, prefilter_for

if TYPE_CHECKING:
    from cryptorails.audit._cache import ResultCache
    from cryptorails.audit._pool import Workers

__all__ = [
    "DEFAULT_EXCLUDE",
    "FileResult",
    "Prefilter",
    "ScanResult",
    "check_source",
    "find_files",
    "scan",
]

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
    cached: int = 0  # results taken from the cache (not scanned, not counted as parsed)


def find_files(paths: Iterable[Path], exclude: Sequence[str] = ()) -> list[Path]:
    """The Python files under `paths`, sorted, without excluded ones.

    A pattern excludes a file when it matches the path relative to the scanned root, or
    any single component of it (``tests/fixtures/*`` and ``migrations`` both work).
    Files named explicitly are always scanned.
    """
    excluded = _exclusion(tuple(exclude))
    out: set[Path] = set()
    for root in paths:
        if root.is_file():
            out.add(root)
        else:
            out.update(map(Path, _walk(str(root), "", excluded)))
    return sorted(out)


def _walk(directory: str, prefix: str, excluded: Callable[[str, str], bool]) -> Iterator[str]:
    """The ``.py`` paths under `directory` (`prefix`: its path relative to the root).

    Like `os.walk` without following links: a link to a directory is not entered, and
    an unreadable directory is skipped. Plain strings and `os.scandir` entries, not
    Path objects: this loop sees every file and directory of the tree.
    """
    try:
        with os.scandir(directory) as entries:
            found = list(entries)
    except OSError:
        return
    for entry in found:
        name = entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if not entry.is_symlink() and not excluded(prefix + name, name):
                yield from _walk(entry.path, f"{prefix}{name}/", excluded)
        elif name.endswith(".py") and not excluded(prefix + name, name):
            yield entry.path


def _exclusion(exclude: tuple[str, ...]) -> Callable[[str, str], bool]:
    """``excluded(relative_posix_path, name)``: whether any pattern matches either, as
    `fnmatch.fnmatchcase` would (one compiled alternation instead of a loop)."""
    patterns = (*DEFAULT_EXCLUDE, *exclude)
    match = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match

    def excluded(rel: str, name: str) -> bool:
        return match(rel) is not None or match(name) is not None

    return excluded


def check_source(source: bytes, path: str, rules: Sequence[Rule]) -> FileResult:
    """Run `rules` over one file's source. Never raises for bad input: a file that cannot
    be parsed gives a warning and no findings."""
    return check_prefiltered(source, path, prefilter_for(rules))


def check_prefiltered(source: bytes, path: str, prefilter: Prefilter) -> FileResult:
    """`check_source` with the rules' prefilter already built."""
    result = FileResult()
    lowered = source.lower()
    active = prefilter.select(lowered)
    if active and all(r.confirm is not None for r in active):
        # A confirm only pays when it can spare the parse: with a rule that has none,
        # the file is parsed anyway, and a rule whose confirm fails reports nothing.
        active = [r for r in active if _confirmed(r, source, lowered, path)]
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


def _confirmed(rule: Rule, source: bytes, lowered: bytes, path: str) -> bool:
    assert rule.confirm is not None
    try:
        return rule.confirm(source, lowered, path)
    except Exception:  # a bug in a text test must not hide a file: parse it
        return True


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


def scan_file(path: Path, prefilter: Prefilter) -> FileResult:
    """Read and check one file (`check_prefiltered`); a file that cannot be read gives a
    warning."""
    try:
        source = path.read_bytes()
    except OSError as e:
        return FileResult(warnings=[f"{path}: cannot read ({e.strerror or e}); skipped"])
    return check_prefiltered(source, str(path), prefilter)


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the cyclic collector off the objects that exist before the scan (modules,
    rules, the caller's data): it would trace them again on every full collection that
    the trees of the scan trigger. Left alone if someone else froze the heap."""
    if not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def scan(
    paths: Iterable[Path],
    rules: Sequence[Rule],
    *,
    exclude: Sequence[str] = (),
    jobs: int | None = None,
    cache: Path | None = None,
) -> ScanResult:
    """Scan files and directories with `rules`.

    Args:
        paths: files and directories (directories are walked for ``*.py``).
        rules: the selected rules.
        exclude: glob patterns, added to `DEFAULT_EXCLUDE`.
        jobs: worker processes (default: the CPU count; 1 scans in this process).
        cache: a directory for per-file results kept between runs (see `_cache`);
            files whose bytes, path and rules are unchanged are not scanned again.
    """
    paths = list(paths)
    codes = tuple(r.code for r in rules)
    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    store = None
    if cache is not None:
        from cryptorails.audit._cache import ResultCache  # imports this module

        store = ResultCache(cache, codes)
    # Workers start before the walk, which then overlaps with their start-up.
    workers = _workers(jobs, codes) if jobs > 1 and any(p.is_dir() for p in paths) else None
    with workers if workers is not None else contextlib.nullcontext():
        files = find_files(paths, exclude)
        results, hits = _scan_files(files, rules, store, workers)
    if store is not None:
        store.save()
    findings: list[Finding] = []
    messages: list[str] = []
    parsed = suppressed = 0
    for i, r in enumerate(results):
        findings.extend(r.findings)
        messages.extend(r.warnings)
        parsed += r.parsed and i not in hits
        suppressed += r.suppressed
    return ScanResult(sorted(findings), messages, len(files), parsed, suppressed, len(hits))


def _workers(jobs: int, codes: tuple[str, ...]) -> Workers | None:
    """Started worker processes, or None when the system cannot start them."""
    from cryptorails.audit._pool import Workers  # imports this module

    try:
        return Workers(jobs, codes)
    except OSError:
        return None


def _scan_files(
    files: list[Path], rules: Sequence[Rule], store: ResultCache | None, workers: Workers | None
) -> tuple[list[FileResult], set[int]]:
    """Each file's result, in order, and the indices of those taken from `store`."""
    results: list[FileResult | None] = [None] * len(files)
    sources: dict[int, tuple[str, bytes]] = {}  # files read to look them up: key, bytes
    if store is not None:
        for i, path in enumerate(files):
            try:
                source = path.read_bytes()
            except OSError:
                continue  # scanned below, which reports it
            key = store.key(path, source)
            results[i] = store.get(key)
            if results[i] is None:
                sources[i] = (key, source)
    hits = {i for i, r in enumerate(results) if r is not None}
    todo = [i for i, r in enumerate(results) if r is None]
    done: list[FileResult] | None = None
    if workers is not None and len(todo) >= _POOL_MIN_FILES:
        given = [sources[i][1] if i in sources else None for i in todo]
        try:
            done = workers.scan([files[i] for i in todo], given)
        except (BrokenExecutor, OSError):
            done = None  # the workers died or could not start: scan in this process
    if done is None:
        prefilter = prefilter_for(rules)
        with _heap_frozen():
            done = [
                check_prefiltered(sources[i][1], str(files[i]), prefilter)
                if i in sources
                else scan_file(files[i], prefilter)
                for i in todo
            ]
    for i, result in zip(todo, done, strict=True):
        results[i] = result
        if store is not None and i in sources:
            store.put(sources[i][0], result)
    return [r if r is not None else FileResult() for r in results], hits
