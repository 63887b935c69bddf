"""Every rule is documented, has a fixture with vulnerable and safe code, and matches its
expected-findings snapshot exactly.

Set CRYPTORAILS_UPDATE_SNAPSHOTS=1 to (re)write the snapshots, then review the diff.
"""

from __future__ import annotations

import os
import re

import pytest

from cryptorails.audit import DOC_HEADINGS, all_rules

from .conftest import FIXTURES, SAFE_MARKER, run, snapshot_lines

RULES = all_rules()


def test_there_are_rules_for_every_failure_case() -> None:
    cases = {rule.case for rule in RULES.values()}
    assert cases >= set(range(1, 11))


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_documentation_has_every_heading(code: str) -> None:
    rule = RULES[code]
    headings = re.findall(r"^## (.+)$", rule.doc, flags=re.MULTILINE)
    assert headings == list(DOC_HEADINGS), f"{code}: headings {headings}"
    for heading in DOC_HEADINGS:
        assert rule.section(heading), f"{code}: empty section {heading!r}"
    assert rule.summary, f"{code}: no summary line"
    assert "cryptorails" in rule.section("Use instead") or code == "CR0001"


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_fixture_matches_snapshot(code: str) -> None:
    fixture = FIXTURES / f"{code}.py"
    expected = FIXTURES / f"{code}.expected"
    assert fixture.is_file(), f"{code}: missing fixture {fixture}"
    source = fixture.read_text(encoding="utf-8")
    assert SAFE_MARKER in source, f"{code}: the fixture has no safe section"
    safe_from = source[: source.index(SAFE_MARKER)].count("\n") + 1
    findings = run(source, code, path=f"{code}.py")
    lines = snapshot_lines(findings)
    if os.environ.get("CRYPTORAILS_UPDATE_SNAPSHOTS") == "1":
        expected.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    assert expected.is_file(), f"{code}: missing snapshot {expected}"
    assert lines == expected.read_text(encoding="utf-8").splitlines()
    assert findings, f"{code}: the fixture's vulnerable section gives no finding"
    flagged_safe = [f for f in findings if f.line > safe_from]
    assert not flagged_safe, f"{code}: findings in the safe section: {flagged_safe}"
