"""`cryptorails triage token` on captured tokens (data/) and on keystore-issued ones."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cryptorails.cli._common import open_keyring
from cryptorails.context import Context
from cryptorails.keys import KeyState
from cryptorails.testing import FixedClock
from cryptorails.tokens import TokenIssuer, load_trust_file
from cryptorails.triage._token import triage_token

from .conftest import DATA, T0, Run, as_json, at, token

TRUST = DATA / "trust.json"


def triage(run: Run, raw: str, *args: str | Path) -> Any:
    return run("triage", "token", raw, "--trust", TRUST, *args)


def test_a_good_token_verifies_and_every_section_is_shown(run: Run) -> None:
    result = triage(run, token("token"), "--now", at(60))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("token (UNVERIFIED until the verdict below)\n")
    assert '"sub":"user-1"' in out
    assert "keyset    JWKS (1 key)" in out
    assert "[ok]   alg       header EdDSA, key EdDSA: agree" in out
    assert "[ok]   payload   strict I-JSON; bytes are their RFC 8785 canonical form" in out
    assert "[ok]   exp       2030-01-01T12:05:00Z: expires in 4m" in out
    assert "[ok]   iat       2030-01-01T12:00:00Z: issued 1m ago" in out
    assert "verdict:   VERIFIED\n" in out
    data = as_json(triage(run, token("token"), "--now", at(60), "--format", "json"))
    assert data["verified"] is True
    assert data["reason"] is None
    assert data["tenant"] == "acme"
    assert data["token"]["claims"]["sub"] == "user-1"  # type: ignore[index]
    assert data["key"]["found"] is True
    assert data["key"]["agrees"] is True
    assert data["canonical"]["payload"]["canonical"] is True  # type: ignore[index]
    assert data["clock_skew"] is None


def test_iat_ahead_by_minutes_is_diagnosed_as_clock_skew(run: Run) -> None:
    # The verifier's clock reads 4m 10s before the issuer's iat.
    result = triage(run, token("token"), "--now", at(-250))
    assert result.exit_code == 1
    out = result.stdout
    assert "[FAIL] iat       2030-01-01T12:00:00Z: issued 4m 10s in the future, beyond the " in out
    assert "verdict:   NOT VERIFIED (reason: issued_in_future)" in out
    assert "diagnosis: likely clock skew between issuer and verifier" in out
    assert "issuer's clock runs about 4m 10s ahead of this host's" in out
    assert "cryptorails triage clocks" in out
    data = as_json(triage(run, token("token"), "--now", at(-250), "--format", "json"))
    assert data["reason"] == "issued_in_future"
    skew = data["clock_skew"]
    assert skew == {
        "suspected": True,
        "issuer_offset_seconds": 250.0,
        "caused_failure": True,
        "hint": "cryptorails triage clocks",
        "text": data["diagnosis"][0],  # type: ignore[index]
    }


def test_a_short_token_expired_on_arrival_is_diagnosed_as_skew(run: Run) -> None:
    result = triage(run, token("token-short"), "--now", at(250), "--format", "json")
    assert result.exit_code == 1
    data = as_json(result)
    assert data["reason"] == "expired"
    assert data["clock_skew"]["issuer_offset_seconds"] == -250.0  # type: ignore[index]
    exp = data["time"]["claims"][0]  # type: ignore[index]
    assert exp["claim"] == "exp"
    assert exp["status"] == "FAIL"
    assert exp["text"] == "2030-01-01T12:01:00Z: expired 3m 10s ago, beyond the leeway of 30s"
    assert "issuer's clock is probably about 4m 10s behind" in data["diagnosis"][0]  # type: ignore[index]


def test_a_long_expired_token_is_not_called_skew(run: Run) -> None:
    data = as_json(triage(run, token("token"), "--now", at(7200), "--format", "json"))
    assert data["reason"] == "expired"
    assert data["clock_skew"] is None
    assert data["diagnosis"] == [
        "the token expired: the client used it after its lifetime (did it refresh?)"
    ]


def test_iat_far_in_the_future_is_not_called_skew(run: Run) -> None:
    data = as_json(triage(run, token("token"), "--now", at(-3600), "--format", "json"))
    assert data["reason"] == "issued_in_future"
    assert data["clock_skew"] is None
    assert "not ordinary clock skew" in data["diagnosis"][0]  # type: ignore[index]


def test_leeway_option_changes_the_verdict_and_still_warns(run: Run) -> None:
    result = triage(run, token("token"), "--now", at(-250), "--leeway", "300")
    assert result.exit_code == 0, result.output
    assert "[warn] iat       2030-01-01T12:00:00Z: 4m 10s in the future, within the leeway " in (
        result.stdout
    )
    assert "warning: the token's iat is 4m 10s ahead of this host's clock" in result.stdout


def test_wrong_kid(run: Run) -> None:
    result = triage(run, token("token-wrong-kid"), "--now", at(60))
    assert result.exit_code == 1
    assert "[FAIL] kid       999 is NOT in this keyset" in result.stdout
    assert "verdict:   NOT VERIFIED (reason: unknown_key)" in result.stdout
    assert "kid 999 is not in tenant acme's keyset" in result.stdout


def test_alg_mismatch(run: Run) -> None:
    result = triage(run, token("token-alg-mismatch"), "--now", at(60), "--format", "json")
    assert result.exit_code == 1
    data = as_json(result)
    assert data["reason"] == "algorithm_mismatch"
    assert data["key"]["header_alg"] == "ES256"
    assert data["key"]["agrees"] is False
    text = triage(run, token("token-alg-mismatch"), "--now", at(60)).stdout
    assert "[FAIL] alg       header ES256, key EdDSA: DISAGREE" in text


def test_duplicate_claims_are_reported_with_both_readings_flagged(run: Run) -> None:
    result = triage(run, token("token-duplicate-claims"), "--now", at(60))
    assert result.exit_code == 1
    out = result.stdout
    assert '[FAIL] payload   duplicate member names "sub" (RFC 7493 §2.3)' in out
    assert "(duplicate names: the last value is shown)" in out
    assert "verdict:   NOT VERIFIED (reason: payload_invalid)" in out
    assert "parsers disagree on which value counts" in out
    data = as_json(
        triage(run, token("token-duplicate-claims"), "--now", at(60), "--format", "json")
    )
    payload = data["canonical"]["payload"]  # type: ignore[index]
    assert payload["duplicate_names"] == ["sub"]
    assert payload["strict_ijson"] is False


def test_token_from_stdin_and_garbage(run: Run) -> None:
    assert (
        run(
            "triage", "token", "-", "--trust", TRUST, "--now", at(1), input=token("token") + "\n"
        ).exit_code
        == 0
    )
    garbage = triage(run, "not-a-token", "--format", "json")
    assert garbage.exit_code == 1
    data = as_json(garbage)
    assert data["reason"] == "malformed"
    assert data["token"]["problem"] == "1 parts; a JWS compact token has 3 (a JWE has 5)"  # type: ignore[index]
    assert "[FAIL] token" in triage(run, "a.b.c.d.e").stdout


def test_usage_errors_exit_2(run: Run, tmp_path: Path) -> None:
    missing = run("triage", "token", token("token"), "--trust", tmp_path / "nope.json")
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
    unknown = triage(run, token("token"), "--tenant", "globex")
    assert unknown.exit_code == 2
    assert "no tenant 'globex'" in unknown.stderr
    naive = triage(run, token("token"), "--now", "2030-01-01T12:00:00")
    assert naive.exit_code == 2
    assert "needs a zone" in naive.stderr


def test_no_key_material_is_printed(run: Run, tmp_path: Path) -> None:
    secret = base64.urlsafe_b64encode(bytes(range(100, 132))).rstrip(b"=").decode()
    jwks = {"keys": [{"kty": "oct", "kid": "h1", "alg": "HS256", "k": secret}]}
    trust = tmp_path / "trust.json"
    trust.write_text(
        json.dumps({"tenants": {"acme": {"issuer": "x", "jwks": jwks, "allow_symmetric": True}}})
    )
    public_x = json.loads(TRUST.read_text())["tenants"]["acme"]["jwks"]["keys"][0]["x"]
    for fmt in ("text", "json"):
        result = run("triage", "token", token("token"), "--trust", trust, "--format", fmt)
        assert result.exit_code == 1  # another key and issuer: it must not verify
        assert secret not in result.output
        good = triage(run, token("token"), "--format", fmt)
        assert public_x not in good.output
    text = run("triage", "token", token("token"), "--trust", trust).stdout
    assert "kid h1: HS256, usable" in text
    data = as_json(run("triage", "token", token("token"), "--trust", trust, "--format", "json"))
    assert data["trust"]["keys"] == [  # type: ignore[index]
        {"kid": "h1", "algorithm": "HS256", "state": "usable", "usable": True}
    ]


@pytest.fixture
def keystore(run: Run, tmp_path: Path) -> Path:
    path = tmp_path / "ks"
    assert run("keys", "init", "--keystore", path, "--environment", "prod").exit_code == 0
    trust = {
        tenant: {"issuer": "https://api.example", "keystore": {"path": "ks", "purpose": "tokens"}}
        for tenant in ("acme", "globex")
    }
    (tmp_path / "trust.json").write_text(json.dumps({"tenants": trust}))
    return path


def issue(keystore: Path, tenant: str) -> str:
    keyring = open_keyring(keystore, None, None)
    issuer = TokenIssuer(
        keyring, Context(tenant, "tokens"), issuer="https://api.example", clock=FixedClock(T0)
    )
    return issuer.issue({"sub": "u"}, timedelta(minutes=5))


def test_a_token_sent_to_the_wrong_tenant_is_named(run: Run, keystore: Path) -> None:
    acme = issue(keystore, "acme")
    issue(keystore, "globex")
    trust = keystore.parent / "trust.json"
    args = ("--trust", trust, "--now", at(10), "--format", "json")
    assert run("triage", "token", acme, *args, "--tenant", "acme").exit_code == 0
    result = run("triage", "token", acme, *args, "--tenant", "globex")
    assert result.exit_code == 1
    data = as_json(result)
    assert data["reason"] == "unknown_key"
    assert data["signed_for_tenant"] == "acme"
    assert data["trust"]["keyset"] == "keystore keyset globex/tokens (environment prod)"  # type: ignore[index]
    assert any("verifies under tenant acme's keys" in d for d in data["diagnosis"])  # type: ignore[union-attr]


def test_a_token_of_a_disabled_key(run: Run, keystore: Path) -> None:
    old = issue(keystore, "acme")
    issue(keystore, "globex")
    keyring = open_keyring(keystore, None, None)
    ctx = Context("acme", "tokens")
    old_kid = keyring.keyset(ctx).primary.kid
    keyring.rotate(ctx)
    keyring.set_state(ctx, old_kid, KeyState.DISABLED)
    trusted = load_trust_file(keystore.parent / "trust.json")
    report = triage_token(old, trusted, "acme", now=T0 + timedelta(seconds=10))
    assert report.verified is False
    assert report.reason is not None
    assert report.reason.value == "key_disabled"
    assert f"[FAIL] kid       {old_kid} found: EdDSA, disabled" in report.text
    assert f"kid {old_kid} is disabled in this keyset" in report.data["diagnosis"][0]
