"""Runtime facts, diff, policy checks and enforcement."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from cryptorails.errors import ConfigurationError, PolicyError
from cryptorails.runtime import Policy, RuntimeFacts, check, collect, diff, enforce, fingerprint
from cryptorails.testing import keyring


@pytest.fixture(scope="module")
def facts() -> RuntimeFacts:
    return collect(environment="prod")


def refingerprinted(data: dict[str, Any]) -> RuntimeFacts:
    data["fingerprint"] = fingerprint(data)
    return RuntimeFacts(data)


def test_facts_are_json_and_fingerprinted(facts: RuntimeFacts) -> None:
    data = json.loads(json.dumps(facts.to_json()))
    assert data["environment"] == "prod"
    assert data["cryptography"]["openssl"].startswith(("OpenSSL", "LibreSSL", "BoringSSL"))
    assert isinstance(data["openssl_differs"], bool)
    assert data["algorithms"]["XAES-256-GCM"] is True
    assert data["packages"]["cryptography"] == data["cryptography"]["version"]
    assert facts.fingerprint == fingerprint(data)


def test_fingerprint_ignores_host_and_time_only(facts: RuntimeFacts) -> None:
    data = copy.deepcopy(facts.to_json())
    data["host"], data["collected_at"] = "other-host", "1999-01-01T00:00:00+00:00"
    assert fingerprint(data) == facts.fingerprint
    data["cryptography"]["fips"] = not data["cryptography"]["fips"]
    assert fingerprint(data) != facts.fingerprint


def test_environment_comes_from_the_keyring() -> None:
    assert collect(keyring=keyring("staging"))["environment"] == "staging"


def test_facts_contain_no_key_material() -> None:
    kr = keyring("prod")
    from cryptorails import Context

    kr.keyset(Context("t", "p"))
    text = json.dumps(collect(keyring=kr).to_json())
    for ctx in kr.contexts():
        for key in kr.keyset(ctx).keys:
            assert key.material is not None
            assert key.material.reveal().hex() not in text


def fabricated(facts: RuntimeFacts) -> tuple[dict[str, Any], dict[str, Any]]:
    a = copy.deepcopy(facts.to_json())
    a["host"] = "eu-1"
    a["cryptography"]["openssl"] = "OpenSSL 3.0.13 30 Jan 2024"
    a["cryptography"]["fips"] = False
    b = copy.deepcopy(a)
    b["host"] = "us-2"
    b["cryptography"]["openssl"] = "OpenSSL 3.5.4 30 Sep 2025"
    b["cryptography"]["fips"] = True
    return refingerprinted(a).to_json(), refingerprinted(b).to_json()


def test_diff_of_two_hosts_differing_in_openssl_and_fips(facts: RuntimeFacts) -> None:
    a, b = fabricated(facts)
    found = {d.path: d for d in diff(a, b)}
    assert set(found) == {"host", "fingerprint", "cryptography.openssl", "cryptography.fips"}
    assert found["cryptography.fips"].security
    assert (found["cryptography.openssl"].a, found["cryptography.openssl"].b) == (
        "OpenSSL 3.0.13 30 Jan 2024",
        "OpenSSL 3.5.4 30 Sep 2025",
    )
    assert not found["host"].security
    assert not found["fingerprint"].security
    assert diff(a, a) == []


def write_policy(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.cryptorails.policy.prod]\n{body}\n")
    return path


def test_a_clean_policy_passes(tmp_path: Path, facts: RuntimeFacts) -> None:
    policy = Policy.load(write_policy(tmp_path, 'min_versions = { python = "3.11" }'), "prod")
    assert check(policy, facts) == []


def test_every_kind_of_violation(tmp_path: Path, facts: RuntimeFacts) -> None:
    data = copy.deepcopy(facts.to_json())
    data["cryptography"]["fips"] = False
    data["cryptography"]["legacy_provider"] = True
    data["algorithms"]["AES-256-GCM-SIV"] = False
    data["overrides"] = ["webhooks.signature"]
    data["environment"] = "staging"
    policy = Policy.load(
        write_policy(
            tmp_path,
            'min_versions = { cryptography = "999", openssl = "99", nosuchpkg = "1" }\n'
            "require_fips = true\nforbid_legacy_provider = true\n"
            'require_algorithms = ["AES-256-GCM-SIV"]\n'
            'expected_fingerprints = ["0000"]',
        ),
        "prod",
    )
    checks = [v.check for v in check(policy, refingerprinted(data))]
    assert checks == [
        "environment",
        "min_versions",
        "min_versions",
        "min_versions",
        "require_fips",
        "forbid_legacy_provider",
        "require_algorithms",
        "allowed_overrides",
        "expected_fingerprints",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("require_fips = 1", "require_fips must be true or false"),
        ("surprise = true", "unknown policy keys"),
        ('min_versions = { python = "new" }', "min_versions must map"),
        ("max_override_lifetime_hours = 500", "max_override_lifetime_hours"),
        ("allowed_overrides = 'x'", "allowed_overrides must be a list"),
    ],
)
def test_bad_policies_are_configuration_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Policy.load(write_policy(tmp_path, body), "prod")


def test_a_missing_environment_is_an_error_not_an_empty_policy(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no policy for environment 'dev'"):
        Policy.load(write_policy(tmp_path, ""), "dev")


def test_a_standalone_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[policy.staging]\nallowed_overrides = ["tls.verify"]\n')
    policy = Policy.load(path, "staging")
    assert policy.allowed_overrides == ("tls.verify",)
    assert policy.override_policy().allows("staging", "tls.verify")
    assert not policy.override_policy().allows("prod", "tls.verify")


def test_enforce_logs_facts_and_drift_then_raises(
    tmp_path: Path, facts: RuntimeFacts, caplog: pytest.LogCaptureFixture
) -> None:
    approved = copy.deepcopy(facts.to_json())
    approved["cryptography"]["openssl"] = "OpenSSL 3.0.13 30 Jan 2024"
    (tmp_path / "approved.json").write_text(json.dumps(approved))
    policy = Policy.load(
        write_policy(tmp_path, 'baseline = "approved.json"\nrequire_fips = true'), "prod"
    )
    data = copy.deepcopy(facts.to_json())
    data["cryptography"]["fips"] = False
    with (
        caplog.at_level(logging.INFO, logger="cryptorails.runtime"),
        pytest.raises(PolicyError, match="require_fips"),
    ):
        enforce(policy, facts=refingerprinted(data))
    events = {r.getMessage(): r for r in caplog.records}
    assert set(events) == {"crypto_runtime", "crypto_runtime_drift"}
    drift = events["crypto_runtime_drift"].differences  # type: ignore[attr-defined]
    assert {
        "fact": "cryptography.openssl",
        "approved": "OpenSSL 3.0.13 30 Jan 2024",
        "now": facts["cryptography"]["openssl"],
    } in drift
    assert events["crypto_runtime"].facts["fingerprint"]  # type: ignore[attr-defined]


def test_enforce_returns_the_facts_when_clean(tmp_path: Path, facts: RuntimeFacts) -> None:
    policy = Policy.load(write_policy(tmp_path, ""), "prod")
    assert enforce(policy, facts=facts) is facts


def test_enforce_takes_the_environment_from_the_keyring(tmp_path: Path) -> None:
    policy = Policy.load(write_policy(tmp_path, ""), "prod")
    assert enforce(policy, keyring("prod"))["environment"] == "prod"
    with pytest.raises(PolicyError, match="the runtime is 'staging'"):
        enforce(policy, keyring("staging"))
    with pytest.raises(PolicyError, match="the runtime is None"):
        enforce(policy)


def test_an_active_override_must_be_allowed(tmp_path: Path) -> None:
    policy = Policy.load(write_policy(tmp_path, 'allowed_overrides = ["tls.verify"]'), "prod")
    assert enforce(policy, keyring("prod"), overrides=["tls.verify"])
    with pytest.raises(PolicyError, match=r"override 'jwt\.verify' is not allowed"):
        enforce(policy, keyring("prod"), overrides=["jwt.verify"])
