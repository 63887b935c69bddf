"""`cryptorails token issue|verify|jwks` and trust files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import Run


def target(ks: Path, tenant: str = "acme") -> list[str]:
    return ["--keystore", str(ks), "--tenant", tenant, "--purpose", "tokens"]


def issue(run: Run, ks: Path, *extra: str, tenant: str = "acme") -> str:
    result = run("token", "issue", *target(ks, tenant), "--issuer", "https://api.example", *extra)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def trust_file(tmp_path: Path, tenants: dict[str, object]) -> Path:
    path = tmp_path / "trust.json"
    path.write_text(json.dumps({"tenants": tenants}))
    return path


def own_keys(tenant: str = "acme", **extra: object) -> dict[str, object]:
    return {
        "issuer": "https://api.example",
        "keystore": {"path": "ks", "purpose": "tokens", "tenant": tenant},
        **extra,
    }


def test_issue_then_verify_against_the_keystore(run: Run, ks: Path, tmp_path: Path) -> None:
    token = issue(run, ks, "--claims", '{"sub": "user-1"}', "--audience", "api")
    trust = trust_file(tmp_path, {"acme": own_keys(audience="api")})
    result = run("token", "verify", token, "--trust", trust, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verified"] is True
    assert data["tenant"] == "acme"
    assert data["claims"]["sub"] == "user-1"
    assert data["claims"]["aud"] == "api"
    assert data["claims"]["iss"] == "https://api.example"
    assert data["claims"]["exp"] - data["claims"]["iat"] == 3600
    # the token also arrives on stdin
    assert run("token", "verify", "--trust", trust, input=token + "\n").exit_code == 0


def test_failed_verify_prints_only_the_generic_message(run: Run, ks: Path, tmp_path: Path) -> None:
    token = issue(run, ks, "--ttl", "60")
    trust = trust_file(tmp_path, {"acme": own_keys(audience="api")})  # token has no aud
    result = run("token", "verify", token, "--trust", trust)
    assert result.exit_code == 1
    assert result.stderr == "verification failed\n"
    assert result.stdout == ""
    explained = run("token", "verify", token, "--trust", trust, "--explain")
    assert explained.exit_code == 1
    assert explained.stderr == "verification failed (reason: missing_claim)\n"
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    result = run("token", "verify", tampered, "--trust", trust, "--format", "json", "--explain")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"verified": False, "reason": "signature_invalid"}


def test_token_of_one_tenant_fails_under_another(run: Run, ks: Path, tmp_path: Path) -> None:
    token_a = issue(run, ks, tenant="acme")
    issue(run, ks, tenant="globex")
    trust = trust_file(tmp_path, {"acme": own_keys("acme"), "globex": own_keys("globex")})
    assert run("token", "verify", token_a, "--trust", trust, "--tenant", "acme").exit_code == 0
    wrong = run("token", "verify", token_a, "--trust", trust, "--tenant", "globex", "--explain")
    assert wrong.exit_code == 1
    assert wrong.stderr == "verification failed (reason: unknown_key)\n"
    several = run("token", "verify", token_a, "--trust", trust)
    assert several.exit_code == 2
    assert "several tenants; pass --tenant" in several.stderr
    missing = run("token", "verify", token_a, "--trust", trust, "--tenant", "initech")
    assert missing.exit_code == 2


def test_jwks_export_verifies_through_a_jwks_file(run: Run, ks: Path, tmp_path: Path) -> None:
    token = issue(run, ks, "--algorithm", "ES256")
    result = run("token", "jwks", *target(ks))
    assert result.exit_code == 0, result.output
    jwks = json.loads(result.stdout)
    assert [k["alg"] for k in jwks["keys"]] == ["ES256"]
    assert all("d" not in k for k in jwks["keys"])
    (tmp_path / "acme-jwks.json").write_text(result.stdout)
    trust = trust_file(
        tmp_path, {"acme": {"issuer": "https://api.example", "jwks_file": "acme-jwks.json"}}
    )
    assert run("token", "verify", token, "--trust", trust).exit_code == 0
    inline = trust_file(tmp_path, {"acme": {"issuer": "https://api.example", "jwks": jwks}})
    assert run("token", "verify", token, "--trust", inline).exit_code == 0


@pytest.mark.parametrize(
    ("tenants", "message"),
    [
        ({}, "expected"),
        ({"acme": {"issuer": "x"}}, "name exactly one of jwks, jwks_file, keystore"),
        ({"acme": {"jwks": {"keys": []}}}, "tenant 'acme'"),
        ({"acme": {**own_keys(), "surprise": 1}}, "unknown fields: surprise"),
        ({"acme": {**own_keys(), "leeway_seconds": -5}}, "whole number of seconds"),
        ({"acme": own_keys("nobody")}, "has no keyset"),
    ],
)
def test_bad_trust_files_are_usage_errors(
    run: Run, ks: Path, tmp_path: Path, tenants: dict[str, object], message: str
) -> None:
    issue(run, ks)
    trust = trust_file(tmp_path, tenants)
    result = run("token", "verify", "a.b.c", "--trust", trust)
    assert result.exit_code == 2
    assert message in result.stderr


def test_trust_file_must_be_strict_json(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    path.write_text('{"tenants": {}, "tenants": {}}')
    result = run("token", "verify", "a.b.c", "--trust", path)
    assert result.exit_code == 2
    assert "not strict JSON" in result.stderr
    result = run("token", "verify", "a.b.c", "--trust", tmp_path / "absent.json")
    assert result.exit_code == 2


def test_issue_rejects_bad_claims(run: Run, ks: Path) -> None:
    base = ["token", "issue", *target(ks), "--issuer", "i"]
    assert run(*base, "--claims", "not json").exit_code == 2
    assert run(*base, "--claims", "[1]").exit_code == 2
    reserved = run(*base, "--claims", '{"exp": 1}')
    assert reserved.exit_code == 2
    assert "must not set exp" in reserved.stderr


def test_issue_refuses_an_aead_keyset(run: Run, ks: Path) -> None:
    assert run("seal", *target(ks), input="x").exit_code == 0  # an AEAD keyset now
    result = run("token", "issue", *target(ks), "--issuer", "i")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")


def test_claims_must_be_strict_json(run: Run, ks: Path) -> None:
    base = ["token", "issue", *target(ks), "--issuer", "i"]
    duplicate = run(*base, "--claims", '{"sub": "a", "sub": "b"}')
    assert duplicate.exit_code == 2
    assert "not strict JSON" in duplicate.stderr
    assert run(*base, "--claims", '{"n": NaN}').exit_code == 2


def test_trust_file_zero_leeway_is_kept(run: Run, ks: Path, tmp_path: Path) -> None:
    from cryptorails.tokens import load_trust_file

    issue(run, ks)
    trust = trust_file(tmp_path, {"acme": own_keys(leeway_seconds=0)})
    verifier = load_trust_file(trust)._verifiers["acme"]
    assert verifier._leeway == 0  # not the 30 s default
    huge = trust_file(tmp_path, {"acme": own_keys(leeway_seconds=10**15)})
    result = run("token", "verify", "a.b.c", "--trust", huge)
    assert result.exit_code == 2
    assert "whole number of seconds" in result.stderr
