"""Recall and false positives of the detectors on the generated, labelled corpus."""

from __future__ import annotations

import pytest

from cryptorails.redact._detectors import KINDS, find_secrets

from .corpus import Sample, corpus


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    return corpus()


def test_the_corpus_covers_every_pattern_kind(samples: list[Sample]) -> None:
    assert {s.kind for s in samples if s.kind} == KINDS - {"known-key"}
    assert sum(1 for s in samples if s.trap) >= 250
    assert sum(1 for s in samples if s.kind) >= 350


def test_the_corpus_is_deterministic() -> None:
    assert corpus(seed=5, repeat=2) == corpus(seed=5, repeat=2)
    assert corpus(seed=5, repeat=2) != corpus(seed=6, repeat=2)


def test_recall_and_kinds(samples: list[Sample]) -> None:
    positives = [s for s in samples if s.kind]
    missed = [s.kind for s in positives if not find_secrets(s.text)]
    wrong = [s.kind for s in positives if s.kind not in {f.kind for f in find_secrets(s.text)}]
    # What the detectors reach on this corpus: every secret, under its own kind (the
    # brief asks for recall >= 0.95; the corpus is ours, so assert all we reach).
    assert missed == []
    assert wrong == []


def test_no_false_positive_on_clean_lines_and_traps(samples: list[Sample]) -> None:
    flagged = [(s.text[:60], find_secrets(s.text)) for s in samples if not s.kind]
    assert [f for f in flagged if f[1]] == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_other_seeds(seed: int) -> None:
    """The same templates with other random parts: the result is not one lucky draw."""
    for s in corpus(seed=seed, repeat=10):
        assert bool(find_secrets(s.text)) is (s.kind is not None), s.kind
