"""The SARIF 2.1.0 builder: required structure, indices, fingerprints, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cryptorails._sarif import (
    FINGERPRINT_KEY,
    SARIF_SCHEMA,
    SARIF_VERSION,
    SarifResult,
    SarifRule,
    sarif_log,
)

RULES = [
    SarifRule("R1", "FirstRule", "First.", "Use **this** instead.", "error"),
    SarifRule("R2", "SecondRule", "Second\n  rule.", "Help.", "note"),
]


def _log(results: list[SarifResult], rules: list[SarifRule] = RULES) -> dict[str, Any]:
    log = sarif_log(
        tool="cryptorails",
        version="1.2.3",
        rules=rules,
        results=results,
    )
    return json.loads(json.dumps(log))  # JSON-serialisable, and compare plain data


def check_sarif(log: dict[str, Any]) -> None:
    """The properties SARIF 2.1.0 requires of what we emit (§3.13, 3.14, 3.19, 3.27)."""
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(log["runs"], list)
    for run in log["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str)
        assert driver["name"]
        ids = [r["id"] for r in driver["rules"]]
        assert len(ids) == len(set(ids))
        for rule in driver["rules"]:
            assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
            assert rule["shortDescription"]["text"]
        for result in run["results"]:
            assert result["message"]["text"]
            assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
            assert result["level"] in ("error", "warning", "note")
            for location in result["locations"]:
                physical = location["physicalLocation"]
                assert physical["artifactLocation"]["uri"]
                assert physical["region"]["startLine"] >= 1
                assert physical["region"]["startColumn"] >= 1


def test_a_complete_log() -> None:
    log = _log(
        [
            SarifResult("R2", "note", "second\nthing", "src/a b.py", 3, 7, fingerprint=None),
            SarifResult("R1", "error", "first", "logs/app.log", 10, 1, fingerprint="ab" * 16),
        ]
    )
    check_sarif(log)
    assert log["$schema"] == SARIF_SCHEMA
    assert log["version"] == SARIF_VERSION
    (run,) = log["runs"]
    assert run["tool"]["driver"] == {
        "name": "cryptorails",
        "version": "1.2.3",
        "rules": [
            {
                "id": "R1",
                "name": "FirstRule",
                "shortDescription": {"text": "First."},
                "help": {"text": "Use **this** instead.", "markdown": "Use **this** instead."},
                "defaultConfiguration": {"level": "error"},
            },
            {
                "id": "R2",
                "name": "SecondRule",
                "shortDescription": {"text": "Second rule."},
                "help": {"text": "Help.", "markdown": "Help."},
                "defaultConfiguration": {"level": "note"},
            },
        ],
    }
    first, second = run["results"]
    assert first == {
        "ruleId": "R2",
        "ruleIndex": 1,
        "level": "note",
        "message": {"text": "second thing"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": "src/a b.py"},
                    "region": {"startLine": 3, "startColumn": 7},
                }
            }
        ],
    }
    assert second["partialFingerprints"] == {FINGERPRINT_KEY: "ab" * 16}
    assert second["ruleIndex"] == 0


def test_an_empty_log_is_valid() -> None:
    log = _log([], [])
    check_sarif(log)
    assert log["runs"][0]["results"] == []


@pytest.mark.parametrize(
    ("results", "rules", "message"),
    [
        ([SarifResult("R9", "error", "m", "a", 1, 1)], RULES, "unknown rule 'R9'"),
        ([SarifResult("R1", "fatal", "m", "a", 1, 1)], RULES, "bad SARIF level 'fatal'"),
        ([SarifResult("R1", "error", "m", "a", 0, 1)], RULES, "1-based"),
        ([SarifResult("R1", "error", "m", "a", 1, 0)], RULES, "1-based"),
        ([], [RULES[0], RULES[0]], "duplicate SARIF rule id 'R1'"),
        ([], [SarifRule("X", "X", "x", "x", "info")], "bad SARIF level 'info'"),
    ],
)
def test_refuses_inconsistent_input(
    results: list[SarifResult], rules: list[SarifRule], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _log(results, rules)
