"""`cryptorails scan` and `cryptorails rules`: outputs, exit codes, config, baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cryptorails.audit import all_rules
from cryptorails.cli import cli

VULNERABLE = """\
import time
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def seal(key, data):
    nonce = int(time.time()).to_bytes(12, "big")
    return AESGCM(key).encrypt(nonce, data, None)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "crypto.py").write_text(VULNERABLE)
    (tmp_path / "pkg" / "clean.py").write_text("def add(a, b):\n    return a + b\n")
    return tmp_path


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_findings_exit_1_with_the_fix_in_text(project: Path) -> None:
    code, out, _ = invoke("scan", project / "pkg")
    assert code == 1
    assert "Case 1: Nonce / randomness (1)" in out
    assert f"{project / 'pkg' / 'crypto.py'}:6:32  CR0101 nonce-from-clock [high]" in out
    assert "fix: Let the library choose nonces" in out
    assert out.rstrip().splitlines()[-1].startswith("1 finding in 1 file; scanned 2 files")


def test_clean_code_exits_0(project: Path) -> None:
    code, out, _ = invoke("scan", project / "pkg" / "clean.py")
    assert code == 0
    assert out.startswith("0 findings in 0 files; scanned 1 file")


def test_json_has_exactly_the_documented_fields(project: Path) -> None:
    code, out, _ = invoke("scan", "--format", "json", project)
    assert code == 1
    (item,) = json.loads(out)
    assert set(item) == {"path", "line", "column", "rule", "case", "severity", "message", "fix"}
    assert (item["rule"], item["case"], item["line"], item["column"]) == ("CR0101", 1, 6, 32)


@pytest.mark.parametrize(
    "args",
    [("scan",), ("scan", "no/such/dir"), ("scan", "--select", "CR99", "."), ("rules", "CR9999")],
)
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    code, _, err = invoke(*args)
    assert code == 2
    assert err


def test_select_and_ignore_by_prefix(project: Path) -> None:
    assert invoke("scan", "--ignore", "CR01", project)[0] == 0
    assert invoke("scan", "--select", "CR0101", project)[0] == 1


def test_pyproject_configuration_is_read(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.cryptorails]\nexclude = ["crypto.py"]\n')
    assert invoke("scan", project / "pkg")[0] == 0
    (project / "pyproject.toml").write_text('[tool.cryptorails]\nignore = ["CR0101"]\n')
    assert invoke("scan", project / "pkg")[0] == 0
    (project / "pyproject.toml").write_text("[tool.cryptorails]\nignore = 1\n")
    code, _, err = invoke("scan", project / "pkg")
    assert code == 2
    assert "ignore must be a list of strings" in err
    (project / "pyproject.toml").write_text("[tool.cryptorails\n")
    assert invoke("scan", project / "pkg")[0] == 2


def test_baseline_accepts_known_findings_only(project: Path) -> None:
    baseline = project / "baseline.json"
    code, _, err = invoke("scan", "--write-baseline", baseline, project / "pkg")
    assert code == 0
    assert "wrote 1 findings" in err
    assert invoke("scan", "--baseline", baseline, project / "pkg")[0] == 0
    # Moving the accepted line keeps it accepted; a second, new finding is reported.
    source = project / "pkg" / "crypto.py"
    source.write_text("\n\n" + VULNERABLE + VULNERABLE.replace("def seal", "def seal2"))
    code, out, _ = invoke("scan", "--baseline", baseline, "--format", "json", source)
    assert code == 1
    assert [f["line"] for f in json.loads(out)] == [14]
    (project / "bad.json").write_text("{}")
    assert invoke("scan", "--baseline", project / "bad.json", source)[0] == 2


def test_output_file(project: Path) -> None:
    report = project / "report.json"
    code, out, _ = invoke("scan", "--format", "json", "-o", report, project)
    assert code == 1
    assert out == ""
    assert json.loads(report.read_text())[0]["rule"] == "CR0101"


def test_unparsable_files_are_warned_about_on_stderr(project: Path) -> None:
    (project / "pkg" / "broken.py").write_text("def f(:\n  nonce = time.time(); encrypt\n")
    code, _, err = invoke("scan", project / "pkg")
    assert code == 1
    assert f"warning: {project / 'pkg' / 'broken.py'}: cannot parse (line 1); skipped" in err


def test_rules_lists_every_rule_and_prints_one() -> None:
    code, out, _ = invoke("rules")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(all_rules())
    code, out, _ = invoke("rules", "cr0101")
    assert code == 0
    assert out.startswith("CR0101 nonce-from-clock (case 1: Nonce / randomness; high; CWE-323)")
    assert "## Use instead" in out
    code, out, _ = invoke("rules", "--format", "json")
    assert {r["code"] for r in json.loads(out)} == set(all_rules())


def test_sarif_has_rules_with_help_and_results(project: Path) -> None:
    from ..test_sarif import check_sarif

    code, out, _ = invoke("scan", "--format", "sarif", project)
    assert code == 1
    log = json.loads(out)
    check_sarif(log)
    (run,) = log["runs"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert set(rules) == set(all_rules())
    assert "## Use instead" in rules["CR0101"]["help"]["text"]
    (result,) = run["results"]
    assert result["ruleId"] == "CR0101"
    assert result["level"] == "error"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (6, 32)


def test_cache_reuses_results_of_unchanged_files(project: Path) -> None:
    cache = project / ".scan-cache"
    first = invoke("scan", project / "pkg", "--cache", cache, "--format", "json")
    second = invoke("scan", project / "pkg", "--cache", cache, "--format", "json")
    assert first[0] == second[0] == 1
    assert json.loads(first[1]) == json.loads(second[1])
    assert any(cache.iterdir())
    # A changed file is checked again, not answered from the cache.
    (project / "pkg" / "crypto.py").write_text("def seal(key, data):\n    return data\n")
    assert invoke("scan", project / "pkg", "--cache", cache)[0] == 0
