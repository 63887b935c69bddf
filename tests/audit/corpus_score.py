"""Scoring of the labelled accuracy corpus in ``tests/audit/corpus``.

The corpus has one directory per failure case (``case01`` … ``case10``). Each file's first
line is its label: ``# expect: K`` for a snippet with a flaw of case K (it lives in
``caseKK/`` and its name starts with ``vuln_``), ``# expect: none`` for a trap that must not
be reported (name starts with ``safe_``; it lives in the directory of the case whose naive
rules it would fool).

Scoring counts files, not findings (see `score`):

- a vulnerable file of case K is a true positive when at least one finding of case K is
  reported in it, a false negative otherwise;
- a finding of case J in a file not labelled J (a safe file, or a vulnerable file of
  another case) is a false positive of case J, counted once per (file, case).

Recall and precision are given per case and overall (micro-average: sums over cases).
Findings of case 0 (the auditor's meta rules, CR00xx) are ignored.

Used by ``tests/audit/test_corpus.py`` and by ``bench/audit.py`` (which loads this file by
path, so it must import nothing from the test package).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CASES",
    "CORPUS",
    "MIN_PER_KIND",
    "CaseScore",
    "CorpusError",
    "Detections",
    "Sample",
    "Score",
    "corpus_problems",
    "cryptorails_detections",
    "format_details",
    "format_table",
    "load_corpus",
    "score",
]

CORPUS = Path(__file__).parent / "corpus"
CASES = tuple(range(1, 11))
MIN_PER_KIND = 8  # vulnerable and safe files per case, at least
_LABEL = re.compile(r"#\s*expect:\s*(none|\d{1,2})\s*")
_DIR = re.compile(r"case(\d\d)")

# file -> {case: what reported it (rule codes, Bandit test ids)}
Detections = Mapping[Path, Mapping[int, Collection[str]]]


class CorpusError(ValueError):
    """The corpus is not well formed (the message lists every problem)."""


@dataclass(frozen=True, order=True)
class Sample:
    """One corpus file.

    Args:
        path: the file, resolved.
        group: the case of the directory it is in.
        expect: the case it has a flaw of, or None for a safe file.
    """

    path: Path
    group: int
    expect: int | None

    @property
    def name(self) -> str:
        """``case04/vuln_replay_set_flask.py``."""
        return f"{self.path.parent.name}/{self.path.name}"


@dataclass
class CaseScore:
    """File counts for one case (or all of them)."""

    case: int | None
    vulnerable: int = 0
    safe: int = 0
    tp: int = 0
    fn: int = 0
    fp: int = 0

    @property
    def recall(self) -> float | None:
        """TP / (TP + FN); None when the case has no vulnerable file."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def precision(self) -> float | None:
        """TP / (TP + FP); None when nothing was reported."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None


@dataclass
class Score:
    """Per-case scores, and the files behind every miss and false alarm."""

    cases: dict[int, CaseScore]
    misses: list[Sample] = field(default_factory=list)
    # (file, case wrongly reported, what reported it)
    false_alarms: list[tuple[Sample, int, tuple[str, ...]]] = field(default_factory=list)

    @property
    def overall(self) -> CaseScore:
        """The micro-average: counts summed over the cases."""
        total = CaseScore(None)
        for c in self.cases.values():
            total.vulnerable += c.vulnerable
            total.safe += c.safe
            total.tp += c.tp
            total.fn += c.fn
            total.fp += c.fp
        return total


def _label(path: Path) -> tuple[int | None, str | None]:
    """The label on the first line of `path`, or an error message."""
    try:
        first = path.read_text(encoding="utf-8").split("\n", 1)[0].rstrip("\r")
    except (OSError, UnicodeDecodeError) as e:
        return None, f"cannot read ({e})"
    match = _LABEL.fullmatch(first)
    if match is None:
        return None, f"first line is not '# expect: K' or '# expect: none': {first!r}"
    return (None if match[1] == "none" else int(match[1])), None


def corpus_problems(root: Path = CORPUS, minimum: int = MIN_PER_KIND) -> list[str]:
    """Everything wrong with the corpus under `root` (an empty list when it is well formed).

    Checked: every ``.py`` file is in a ``caseNN`` directory of a known case, is labelled,
    parses, is named ``vuln_*`` (labelled with its directory's case) or ``safe_*``
    (labelled none), is not a name pytest would collect, and every case has at least
    `minimum` files of each kind.
    """
    problems: list[str] = []
    counts = {case: [0, 0] for case in CASES}  # [vulnerable, safe]
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        dir_match = _DIR.fullmatch(path.parent.name)
        if path.parent.parent != root or dir_match is None or int(dir_match[1]) not in CASES:
            problems.append(f"{rel}: not in a caseNN directory (NN in 01..10)")
            continue
        group = int(dir_match[1])
        if path.name.startswith("test_") or path.name.endswith("_test.py"):
            problems.append(f"{rel}: pytest would collect this file; rename it")
        expect, error = _label(path)
        if error is not None:
            problems.append(f"{rel}: {error}")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(path.read_bytes(), filename=rel)
        except (SyntaxError, ValueError) as e:
            problems.append(f"{rel}: does not parse ({e})")
        if path.name.startswith("vuln_"):
            if expect != group:
                problems.append(
                    f"{rel}: a vuln_ file in case{group:02d} must say '# expect: {group}'"
                )
            else:
                counts[group][0] += 1
        elif path.name.startswith("safe_"):
            if expect is not None:
                problems.append(f"{rel}: a safe_ file must say '# expect: none'")
            else:
                counts[group][1] += 1
        else:
            problems.append(f"{rel}: name must start with vuln_ or safe_")
    for case, (vulnerable, safe) in counts.items():
        if vulnerable < minimum or safe < minimum:
            problems.append(
                f"case{case:02d}: {vulnerable} vulnerable and {safe} safe files "
                f"(at least {minimum} of each wanted)"
            )
    return problems


def load_corpus(root: Path = CORPUS) -> list[Sample]:
    """The labelled files under `root`, sorted.

    Raises:
        CorpusError: the corpus is not well formed.
    """
    problems = corpus_problems(root, minimum=0)
    if problems:
        raise CorpusError("; ".join(problems))
    samples = []
    for path in sorted(root.glob("case*/*.py")):
        expect, _ = _label(path)
        samples.append(Sample(path.resolve(), int(path.parent.name[4:]), expect))
    return samples


def score(samples: Iterable[Sample], detections: Detections) -> Score:
    """Score `detections` against the labels (see the module docstring)."""
    result = Score({case: CaseScore(case) for case in CASES})
    for sample in samples:
        found = detections.get(sample.path, {})
        if sample.expect is None:
            result.cases[sample.group].safe += 1
        else:
            counts = result.cases[sample.expect]
            counts.vulnerable += 1
            if sample.expect in found:
                counts.tp += 1
            else:
                counts.fn += 1
                result.misses.append(sample)
        for case, reporters in sorted(found.items()):
            if case != sample.expect and case in result.cases:
                result.cases[case].fp += 1
                result.false_alarms.append((sample, case, tuple(sorted(reporters))))
    return result


def cryptorails_detections(
    root: Path = CORPUS, *, jobs: int = 1
) -> dict[Path, dict[int, set[str]]]:
    """Run every registered rule over `root`; file -> {case: rule codes} (case 0 dropped)."""
    from cryptorails.audit import all_rules, scan

    result = scan([root], list(all_rules().values()), jobs=jobs)
    found: dict[Path, dict[int, set[str]]] = {}
    for finding in result.findings:
        if finding.case == 0:
            continue
        by_case = found.setdefault(Path(finding.path).resolve(), {})
        by_case.setdefault(finding.case, set()).add(finding.rule)
    return found


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def format_table(scores: Mapping[str, Score]) -> str:
    """A plain-text table: one row per case and one for all, columns per tool."""
    tools = list(scores)
    first = scores[tools[0]]
    head = f"{'case':>7} {'vuln':>4} {'safe':>4}"
    for tool in tools:
        head += f" | {tool[:24]:^24}"
    sub = " " * len(f"{'case':>7} {'vuln':>4} {'safe':>4}")
    for _ in tools:
        sub += f" | {'recall':>6} {'prec':>5} {'TP':>3} {'FN':>3} {'FP':>3}"
    lines = [head, sub, "-" * len(sub)]
    keys: list[int | None] = [*CASES, None]
    for key in keys:
        ref = first.overall if key is None else first.cases[key]
        row = f"{'all' if key is None else key:>7} {ref.vulnerable:>4} {ref.safe:>4}"
        for tool in tools:
            c = scores[tool].overall if key is None else scores[tool].cases[key]
            row += f" | {_pct(c.recall):>6} {_pct(c.precision):>5} {c.tp:>3} {c.fn:>3} {c.fp:>3}"
        if key is None:
            lines.append("-" * len(sub))
        lines.append(row)
    return "\n".join(lines)


def format_details(result: Score) -> str:
    """One line per missed vulnerable file and per false alarm."""
    lines = [f"missed: {s.name} (case {s.expect})" for s in result.misses]
    lines += [
        f"false alarm: case {case} in {s.name} ({', '.join(by) or '?'})"
        for s, case, by in result.false_alarms
    ]
    return "\n".join(lines)
