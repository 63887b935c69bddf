"""Accuracy of `cryptorails scan` on the blind, labelled corpus in ``tests/audit/corpus``.

The corpus was written from the failure-case definitions without looking at the rules or
their fixtures; see ``corpus/README.md`` for the labels and the scoring. Run with ``-s``
to see the table, the missed files and the false alarms.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptorails.audit import all_rules, scan

from .corpus_score import (
    CASES,
    CORPUS,
    MIN_PER_KIND,
    CorpusError,
    Sample,
    corpus_problems,
    cryptorails_detections,
    format_details,
    format_table,
    load_corpus,
    score,
)

RECALL_TARGET = 0.9
PRECISION_TARGET = 0.9


def test_corpus_is_well_formed() -> None:
    assert corpus_problems() == []


def test_every_case_has_enough_vulnerable_and_safe_files() -> None:
    samples = load_corpus()
    for case in CASES:
        vulnerable = [s for s in samples if s.expect == case]
        safe = [s for s in samples if s.group == case and s.expect is None]
        assert len(vulnerable) >= MIN_PER_KIND, f"case {case}"
        assert len(safe) >= MIN_PER_KIND, f"case {case}"


def test_the_scan_reads_every_corpus_file() -> None:
    result = scan([CORPUS], list(all_rules().values()), jobs=1)
    assert result.files == len(load_corpus())
    assert not [w for w in result.warnings if "cannot" in w], result.warnings


def test_accuracy_on_the_corpus() -> None:
    samples = load_corpus()
    result = score(samples, cryptorails_detections(CORPUS, jobs=1))
    print()
    print(format_table({"cryptorails": result}))
    details = format_details(result)
    if details:
        print(details)
    overall = result.overall
    assert overall.recall is not None
    assert overall.recall >= RECALL_TARGET, f"overall recall {overall.recall:.1%}"
    assert overall.precision is not None
    assert overall.precision >= PRECISION_TARGET, f"overall precision {overall.precision:.1%}"


# The scoring itself -------------------------------------------------------------------


def _sample(name: str, group: int, expect: int | None) -> Sample:
    return Sample(Path(f"/corpus/case{group:02d}/{name}.py"), group, expect)


def test_score_counts_files_and_cases_not_findings() -> None:
    v1a, v1b = _sample("vuln_a", 1, 1), _sample("vuln_b", 1, 1)
    v5 = _sample("vuln_c", 5, 5)
    s1, s5 = _sample("safe_a", 1, None), _sample("safe_b", 5, None)
    detections = {
        v1a.path: {1: {"CR0101", "CR0102"}, 6: {"CR0601"}},  # hit, plus an FP of case 6
        v1b.path: {5: {"CR0501"}},  # a miss of case 1 and an FP of case 5
        v5.path: {5: {"CR0501"}},
        s1.path: {1: {"CR0103", "CR0104"}},  # two findings, one false positive
    }
    result = score([v1a, v1b, v5, s1, s5], detections)
    c1, c5, c6 = result.cases[1], result.cases[5], result.cases[6]
    assert (c1.vulnerable, c1.safe, c1.tp, c1.fn, c1.fp) == (2, 1, 1, 1, 1)
    assert (c5.vulnerable, c5.safe, c5.tp, c5.fn, c5.fp) == (1, 1, 1, 0, 1)
    assert (c6.tp, c6.fn, c6.fp) == (0, 0, 1)
    assert c1.recall == 0.5
    assert c1.precision == 0.5
    assert c6.recall is None
    assert c6.precision == 0.0
    overall = result.overall
    assert (overall.tp, overall.fn, overall.fp) == (2, 1, 3)
    assert overall.recall == pytest.approx(2 / 3)
    assert overall.precision == pytest.approx(2 / 5)
    assert result.misses == [v1b]
    assert [(s.name, case) for s, case, _ in result.false_alarms] == [
        ("case01/vuln_a.py", 6),
        ("case01/vuln_b.py", 5),
        ("case01/safe_a.py", 1),
    ]


def test_score_with_no_findings_has_no_precision() -> None:
    result = score([_sample("vuln_a", 3, 3)], {})
    assert result.overall.recall == 0.0
    assert result.overall.precision is None


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_corpus_problems_reports_each_defect(tmp_path: Path) -> None:
    _write(tmp_path, "case02/vuln_ok.py", "# expect: 2\nx = 1\n")
    _write(tmp_path, "case02/safe_ok.py", "# expect: none\nx = 1\n")
    _write(tmp_path, "case02/vuln_wrong_case.py", "# expect: 3\nx = 1\n")
    _write(tmp_path, "case02/safe_unlabelled.py", "x = 1\n")
    _write(tmp_path, "case02/safe_broken.py", "# expect: none\ndef f(:\n")
    _write(tmp_path, "case02/other.py", "# expect: none\n")
    _write(tmp_path, "case02/test_collected.py", "# expect: none\n")
    _write(tmp_path, "case11/vuln_x.py", "# expect: 11\n")
    _write(tmp_path, "loose.py", "# expect: none\n")
    problems = corpus_problems(tmp_path, minimum=1)
    joined = "\n".join(problems)
    assert "case02/vuln_wrong_case.py: a vuln_ file in case02 must say '# expect: 2'" in joined
    assert "case02/safe_unlabelled.py: first line is not" in joined
    assert "case02/safe_broken.py: does not parse" in joined
    assert "case02/other.py: name must start with vuln_ or safe_" in joined
    assert "case02/test_collected.py: pytest would collect this file" in joined
    assert "case11/vuln_x.py: not in a caseNN directory" in joined
    assert "loose.py: not in a caseNN directory" in joined
    assert "case01: 0 vulnerable and 0 safe files" in joined
    assert not any(p.startswith("case02/vuln_ok.py") or p.startswith("case02:") for p in problems)
    with pytest.raises(CorpusError):
        load_corpus(tmp_path)
