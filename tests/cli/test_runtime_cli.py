"""`cryptorails runtime facts|diff|check|cbom`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptorails.runtime import fingerprint

from .conftest import Run


def record(run: Run, tmp_path: Path, name: str, **changes: Any) -> Path:
    result = run("runtime", "facts", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        target = data
        for part in parents:
            target = target[part]
        target[leaf] = value
    data["fingerprint"] = fingerprint(data)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def test_facts_text_names_both_openssls(run: Run) -> None:
    result = run("runtime", "facts")
    assert result.exit_code == 0
    import ssl

    assert f"ssl module       {ssl.OPENSSL_VERSION} " in result.stdout
    assert "openssl differs  " in result.stdout
    assert "environment      (none: pass --keystore)" in result.stdout


def test_facts_take_the_environment_from_a_keystore(run: Run, ks: Path) -> None:
    result = run("runtime", "facts", "--format", "json", "--keystore", ks)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["environment"] == "prod"


def test_diff_reports_openssl_and_fips_and_exits_1(run: Run, tmp_path: Path) -> None:
    a = record(run, tmp_path, "eu", host="eu-1", cryptography__openssl="OpenSSL 3.0.13 30 Jan 2024")
    b = record(
        run,
        tmp_path,
        "us",
        host="us-2",
        cryptography__openssl="OpenSSL 3.5.4 30 Sep 2025",
        cryptography__fips=True,
    )
    result = run("runtime", "diff", a, b)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "security-relevant differences (2):"
    assert lines[1].split() == ["cryptography.fips", "false", "->", "true"]
    assert '"OpenSSL 3.0.13 30 Jan 2024"  ->  "OpenSSL 3.5.4 30 Sep 2025"' in lines[2]
    assert lines[3] == "other differences (2):"
    same = run("runtime", "diff", a, a)
    assert same.exit_code == 0
    assert "have the same runtime facts" in same.stdout
    rows = json.loads(run("runtime", "diff", "--format", "json", a, b).stdout)
    assert {r["fact"] for r in rows if r["security"]} == {
        "cryptography.openssl",
        "cryptography.fips",
    }


def test_diff_only_harmless_differences_exits_0(run: Run, tmp_path: Path) -> None:
    a = record(run, tmp_path, "a", host="a")
    b = record(run, tmp_path, "b", host="b")
    assert run("runtime", "diff", a, b).exit_code == 0


def test_diff_rejects_files_that_are_not_fact_records(run: Run, tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("[1]")
    assert run("runtime", "diff", tmp_path / "x.json", tmp_path / "x.json").exit_code == 2
    assert run("runtime", "diff", tmp_path / "nope", tmp_path / "x.json").exit_code == 2


def test_check_against_a_policy(run: Run, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[policy.prod]\nmin_versions = { cryptography = "999" }\n')
    facts = record(run, tmp_path, "prod", environment="prod")
    result = run("runtime", "check", "--policy", policy, "--env", "prod", "--facts", facts)
    assert result.exit_code == 1
    assert result.stdout.startswith("violation: min_versions: cryptography ")
    policy.write_text('[policy.prod]\nmin_versions = { python = "3.0" }\n')
    result = run("runtime", "check", "--policy", policy, "--env", "prod", "--facts", facts)
    assert result.exit_code == 0
    assert "meets the prod policy" in result.stdout
    assert run("runtime", "check", "--policy", policy, "--env", "dev").exit_code == 2


def test_check_refuses_an_edited_fact_file(run: Run, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[policy.prod]\n")
    facts = record(run, tmp_path, "prod", environment="prod")
    data = json.loads(facts.read_text())
    data["cryptography"]["fips"] = True
    facts.write_text(json.dumps(data))
    result = run("runtime", "check", "--policy", policy, "--env", "prod", "--facts", facts)
    assert result.exit_code == 2
    assert "edited after it was recorded" in result.stderr


def test_cbom_of_a_keystore(run: Run, ks: Path, tmp_path: Path) -> None:
    out = tmp_path / "cbom.json"
    result = run("runtime", "cbom", "--keystore", ks, "-o", out)
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["bomFormat"] == "CycloneDX"
    assert doc["specVersion"] == "1.6"
