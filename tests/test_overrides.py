"""Expiring, approved security overrides: `approve`, `Overrides`, and the CLI."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cryptorails import Context, Keyring, LocalKek, PolicyError, Reason, VerificationError
from cryptorails.cli import cli
from cryptorails.overrides import (
    MAX_OVERRIDE_LIFETIME,
    OVERRIDE_AUDIENCE,
    OVERRIDE_TYPE,
    Override,
    OverridePolicy,
    Overrides,
    approve,
)
from cryptorails.testing import FixedClock
from cryptorails.tokens import TokenIssuer, TokenVerifier

APPROVERS = Context("ops", "override-approvals")
ISSUER = "https://approvals.example"
START = datetime(2030, 1, 1, tzinfo=UTC)
POLICY = OverridePolicy(
    {"prod": frozenset({"webhooks.signature", "tls.verify"}), "staging": frozenset({"tls.verify"})}
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def keyring(clock: FixedClock) -> Keyring:
    return Keyring.in_memory("prod", clock=clock)


@pytest.fixture
def issuer(keyring: Keyring, clock: FixedClock) -> TokenIssuer:
    return TokenIssuer(keyring, APPROVERS, issuer=ISSUER, clock=clock)


def overrides_for(
    keyring: Keyring, clock: FixedClock, policy: OverridePolicy = POLICY
) -> Overrides:
    return Overrides.for_keyring(keyring, APPROVERS, issuer=ISSUER, policy=policy, clock=clock)


def approval(issuer: TokenIssuer, **changes: object) -> str:
    args: dict[str, object] = {
        "what": "webhooks.signature",
        "reason": "INC-42: provider rotated its secret",
        "environment": "prod",
        "lifetime": timedelta(hours=4),
        "approver": "alice@example.com",
        **changes,
    }
    return approve(issuer, **args)  # type: ignore[arg-type]


# -- approval and loading --------------------------------------------------------------


def test_round_trip(keyring: Keyring, clock: FixedClock, issuer: TokenIssuer) -> None:
    token = approval(issuer)
    overrides = overrides_for(keyring, clock)
    loaded = overrides.load(token)
    assert loaded.what == "webhooks.signature"
    assert loaded.reason == "INC-42: provider rotated its secret"
    assert loaded.approver == "alice@example.com"
    assert loaded.environment == "prod"
    assert loaded.issued_at == START
    assert loaded.expires_at == START + timedelta(hours=4)
    assert loaded.lifetime == timedelta(hours=4)
    assert len(loaded.id) == 22  # 128-bit jti, base64url
    assert overrides.environment == "prod"
    assert overrides.active("webhooks.signature") == loaded
    assert overrides.active("tls.verify") is None
    assert overrides.list() == [loaded]
    # loading the same approval twice keeps one override
    assert overrides.load(token) == loaded
    assert overrides.list() == [loaded]


def test_environment_comes_from_the_keyring(clock: FixedClock) -> None:
    staging = Keyring.in_memory("staging", clock=clock)
    overrides = overrides_for(staging, clock)
    assert overrides.environment == "staging"
    token = approval(
        TokenIssuer(staging, APPROVERS, issuer=ISSUER, clock=clock), environment="prod"
    )
    with pytest.raises(PolicyError) as e:
        overrides.load(token)
    assert str(e.value) == (
        "the override of 'webhooks.signature' was approved for environment 'prod', not 'staging'"
    )
    assert overrides.list() == []


def test_expired_approval_is_refused(
    keyring: Keyring, clock: FixedClock, issuer: TokenIssuer
) -> None:
    token = approval(issuer, lifetime=timedelta(hours=1))
    clock.advance(timedelta(hours=1))
    with pytest.raises(PolicyError, match=r"^the override approval has expired$"):
        overrides_for(keyring, clock).load(token)


def test_expiry_is_exact_even_with_a_lenient_verifier(
    keyring: Keyring, clock: FixedClock, issuer: TokenIssuer
) -> None:
    # A verifier with the default 30 s leeway accepts the token; the override does not.
    verifier = TokenVerifier.for_keyring(
        keyring, APPROVERS, issuer=ISSUER, audience=OVERRIDE_AUDIENCE, clock=clock
    )
    overrides = Overrides(verifier, environment="prod", policy=POLICY, clock=clock)
    token = approval(issuer, lifetime=timedelta(minutes=10))
    clock.advance(timedelta(minutes=10, seconds=5))
    assert verifier.verify(token)["what"] == "webhooks.signature"
    with pytest.raises(PolicyError) as e:
        overrides.load(token)
    assert str(e.value) == (
        "the override of 'webhooks.signature' expired at 2030-01-01T00:10:00+00:00"
    )


def test_forbidden_by_the_policy(keyring: Keyring, clock: FixedClock, issuer: TokenIssuer) -> None:
    policy = OverridePolicy({"staging": frozenset({"webhooks.signature"}), "prod": frozenset()})
    overrides = overrides_for(keyring, clock, policy)
    with pytest.raises(PolicyError) as e:
        overrides.load(approval(issuer))
    assert str(e.value) == "the policy does not allow overriding 'webhooks.signature' in 'prod'"
    # an environment the policy does not name allows nothing either
    unnamed = overrides_for(keyring, clock, OverridePolicy({}))
    with pytest.raises(PolicyError, match="does not allow"):
        unnamed.load(approval(issuer))
    # and a name not in the set is refused where others are allowed
    with pytest.raises(PolicyError, match=r"overriding 'db\.tls' in 'prod'"):
        overrides_for(keyring, clock).load(approval(issuer, what="db.tls"))


def test_lifetime_is_bounded(keyring: Keyring, clock: FixedClock, issuer: TokenIssuer) -> None:
    assert timedelta(days=7) == MAX_OVERRIDE_LIFETIME
    assert overrides_for(keyring, clock).load(approval(issuer, lifetime=timedelta(days=7)))
    with pytest.raises(ValueError, match="longer than the maximum of 7 days"):
        approval(issuer, lifetime=timedelta(days=7, seconds=1))
    with pytest.raises(ValueError, match="at least one second"):
        approval(issuer, lifetime=timedelta(0))
    with pytest.raises(TypeError, match="lifetime must be a timedelta"):
        approval(issuer, lifetime=3600)
    short = OverridePolicy(POLICY.allowed, max_lifetime=timedelta(hours=1))
    with pytest.raises(PolicyError) as e:
        overrides_for(keyring, clock, short).load(approval(issuer, lifetime=timedelta(hours=2)))
    assert str(e.value) == (
        "the override of 'webhooks.signature' lasts 2:00:00, longer than the policy's "
        "maximum of 1:00:00"
    )
    with pytest.raises(ValueError, match="longer than the maximum"):
        OverridePolicy({}, max_lifetime=timedelta(days=8))


def test_wrong_signer_is_refused(keyring: Keyring, clock: FixedClock) -> None:
    other = TokenIssuer(Keyring.in_memory("prod", clock=clock), APPROVERS, issuer=ISSUER)
    with pytest.raises(VerificationError) as e:
        overrides_for(keyring, clock).load(approval(other))
    assert str(e.value) == "verification failed"
    assert e.value.reason is Reason.UNKNOWN_KEY
    # another keyset of the same keyring (the service's own token keys) is no approver
    api = TokenIssuer(keyring, Context("ops", "api-tokens"), issuer=ISSUER, clock=clock)
    with pytest.raises(VerificationError):
        overrides_for(keyring, clock).load(approval(api))


def test_tokens_of_another_kind_are_refused(
    keyring: Keyring, clock: FixedClock, issuer: TokenIssuer
) -> None:
    overrides = overrides_for(keyring, clock)
    claims = {
        "typ": OVERRIDE_TYPE,
        "what": "webhooks.signature",
        "reason": "r",
        "env": "prod",
        "approver": "a",
    }
    cases = [
        (issuer.issue(claims, timedelta(hours=1), audience="api"), Reason.WRONG_AUDIENCE),
        (issuer.issue(claims, timedelta(hours=1)), Reason.MISSING_CLAIM),
        (
            issuer.issue({**claims, "typ": "session"}, timedelta(hours=1), OVERRIDE_AUDIENCE),
            Reason.CLAIM_INVALID,
        ),
        (
            issuer.issue({**claims, "what": "Not A Name"}, timedelta(hours=1), OVERRIDE_AUDIENCE),
            Reason.CLAIM_INVALID,
        ),
        (
            issuer.issue({**claims, "approver": ""}, timedelta(hours=1), OVERRIDE_AUDIENCE),
            Reason.CLAIM_INVALID,
        ),
    ]
    for token, reason in cases:
        with pytest.raises(VerificationError) as e:
            overrides.load(token)
        assert e.value.reason is reason
    # and an approval token is no API token: a verifier for another audience refuses it
    api = TokenVerifier.for_keyring(keyring, APPROVERS, issuer=ISSUER, audience="api", clock=clock)
    with pytest.raises(VerificationError) as e:
        api.verify(approval(issuer))
    assert e.value.reason is Reason.WRONG_AUDIENCE
    assert overrides.list() == []


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", b"\xff" * 10, 12, None])
def test_malformed_tokens_give_the_generic_error(
    keyring: Keyring, clock: FixedClock, token: object
) -> None:
    with pytest.raises(VerificationError):
        overrides_for(keyring, clock).load(token)  # type: ignore[arg-type]


def test_from_claims_rejects_bad_shapes() -> None:
    good: dict[str, object] = {
        "aud": OVERRIDE_AUDIENCE,
        "typ": OVERRIDE_TYPE,
        "what": "tls.verify",
        "reason": "r",
        "env": "prod",
        "approver": "a",
        "jti": "id-1",
        "iat": 1_900_000_000,
        "exp": 1_900_003_600,
    }
    assert Override.from_claims(good).expires_at == datetime.fromtimestamp(1_900_003_600, UTC)
    for name, value in [
        ("aud", [OVERRIDE_AUDIENCE]),
        ("iat", 1.5),
        ("exp", True),
        ("exp", 10**30),
        ("jti", None),
        ("reason", "bad\nline"),
    ]:
        with pytest.raises(VerificationError):
            Override.from_claims({**good, name: value})


def test_approve_checks_its_arguments(issuer: TokenIssuer) -> None:
    with pytest.raises(ValueError, match="what must be 1-128 characters"):
        approval(issuer, what="TLS verify")
    with pytest.raises(ValueError, match="reason must not be empty"):
        approval(issuer, reason="")
    with pytest.raises(ValueError, match="forbidden character"):
        approval(issuer, approver="alice\x1b[31m")
    with pytest.raises(TypeError, match="environment must be a str"):
        approval(issuer, environment=None)
    not_an_issuer: Any = "issuer"
    with pytest.raises(TypeError, match="TokenIssuer"):
        approve(
            not_an_issuer,
            what="x",
            reason="r",
            environment="e",
            lifetime=timedelta(1),
            approver="a",
        )


def test_constructor_checks(keyring: Keyring, clock: FixedClock) -> None:
    plain = TokenVerifier.for_keyring(keyring, APPROVERS, issuer=ISSUER)
    with pytest.raises(ValueError, match="audience='cryptorails-override'"):
        Overrides(plain, environment="prod", policy=POLICY)
    with pytest.raises(TypeError, match="allowed\\['prod'\\] must be a set of names"):
        OverridePolicy({"prod": "tls.verify"})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="what must be"):
        OverridePolicy({"prod": frozenset({"TLS"})})
    allowed = {"prod": frozenset({"tls.verify"})}
    policy = OverridePolicy(allowed)
    allowed["staging"] = frozenset({"tls.verify"})  # the policy kept its own copy
    assert not policy.allows("staging", "tls.verify")
    assert policy.allows("prod", "tls.verify")


# -- while active: bounded warnings, then the end ---------------------------------------


def _events(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == event]


def test_warning_is_rate_limited_and_never_contains_the_token(
    keyring: Keyring, clock: FixedClock, issuer: TokenIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cryptorails.overrides")
    token = approval(issuer)
    overrides = overrides_for(keyring, clock)
    loaded = overrides.load(token)
    assert len(_events(caplog, "security_override_loaded")) == 1
    for _ in range(5):
        assert overrides.active("webhooks.signature") == loaded
    assert len(_events(caplog, "security_override_active")) == 1
    clock.advance(59)
    overrides.active("webhooks.signature")
    assert len(_events(caplog, "security_override_active")) == 1
    clock.advance(1)
    overrides.active("webhooks.signature")
    overrides.active("webhooks.signature")
    active = _events(caplog, "security_override_active")
    assert len(active) == 2
    record = active[0]
    assert record.levelno == logging.WARNING
    assert record.name == "cryptorails.overrides"
    assert record.override_what == "webhooks.signature"  # type: ignore[attr-defined]
    assert record.override_reason == "INC-42: provider rotated its secret"  # type: ignore[attr-defined]
    assert record.override_approver == "alice@example.com"  # type: ignore[attr-defined]
    assert record.override_environment == "prod"  # type: ignore[attr-defined]
    assert record.override_id == loaded.id  # type: ignore[attr-defined]
    assert record.override_expires_at == "2030-01-01T04:00:00+00:00"  # type: ignore[attr-defined]
    assert record.getMessage() == (
        "security_override_active: 'webhooks.signature' in 'prod' until "
        "2030-01-01T04:00:00+00:00, approved by 'alice@example.com': "
        "INC-42: provider rotated its secret"
    )
    signature = token.rsplit(".", 1)[1]
    for r in caplog.records:
        rendered = r.getMessage() + repr(vars(r))
        assert token not in rendered
        assert signature not in rendered


def test_expired_override_ends_once(
    keyring: Keyring, clock: FixedClock, issuer: TokenIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cryptorails.overrides")
    overrides = overrides_for(keyring, clock)
    short = overrides.load(approval(issuer, lifetime=timedelta(minutes=5)))
    longer = overrides.load(approval(issuer, lifetime=timedelta(hours=1)))
    other = overrides.load(approval(issuer, what="tls.verify", lifetime=timedelta(minutes=5)))
    assert overrides.list() == [*sorted([short, other], key=lambda o: o.id), longer]
    assert overrides.active("webhooks.signature") == longer  # the one that lasts longest
    clock.advance(timedelta(minutes=5))
    assert overrides.list() == [longer]
    assert overrides.active("tls.verify") is None
    clock.advance(timedelta(minutes=55))
    assert overrides.active("webhooks.signature") is None
    assert overrides.active("webhooks.signature") is None
    ended = [r.override_id for r in _events(caplog, "security_override_ended")]  # type: ignore[attr-defined]
    assert sorted(ended) == sorted([short.id, longer.id, other.id])
    assert all(r.levelno == logging.INFO for r in _events(caplog, "security_override_ended"))


def test_active_checks_the_name(keyring: Keyring, clock: FixedClock) -> None:
    with pytest.raises(ValueError, match="what must be"):
        overrides_for(keyring, clock).active("")


# -- CLI --------------------------------------------------------------------------------


def _run(*args: str | Path, input: str | None = None) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], input=input, env={})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def ks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CRYPTORAILS_KEK_FILE", raising=False)
    path = tmp_path / "ks"
    assert _run("keys", "init", "--keystore", path, "--environment", "ops").exit_code == 0
    return path


def _approve(ks: Path, *extra: str) -> Result:
    return _run(
        "override", "approve", "--keystore", ks, "--tenant", "ops",
        "--purpose", "override-approvals", "--issuer", ISSUER,
        "--what", "webhooks.signature", "--reason", "INC-42", "--environment", "prod",
        "--approver", "alice", *extra,
    )  # fmt: skip


def _trust(tmp_path: Path, audience: str = OVERRIDE_AUDIENCE) -> Path:
    path = tmp_path / "trust.json"
    entry = {
        "issuer": ISSUER,
        "audience": audience,
        "keystore": {"path": "ks", "tenant": "ops", "purpose": "override-approvals"},
    }
    path.write_text(json.dumps({"tenants": {"approvers": entry}}))
    return path


def test_cli_round_trip(ks: Path, tmp_path: Path) -> None:
    approved = _approve(ks, "--lifetime", "4h")
    assert approved.exit_code == 0, approved.stderr
    token = approved.stdout.strip()
    trust = _trust(tmp_path)
    shown = _run("override", "inspect", token, "--trust", trust, "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["valid"] is True
    assert (data["what"], data["reason"], data["approver"], data["environment"]) == (
        "webhooks.signature",
        "INC-42",
        "alice",
        "prod",
    )
    issued = datetime.fromisoformat(data["issued_at"])
    assert datetime.fromisoformat(data["expires_at"]) - issued == timedelta(hours=4)
    text = _run("override", "inspect", "--trust", trust, input=token + "\n")
    assert text.exit_code == 0
    assert "what: webhooks.signature\nreason: INC-42\napprover: alice\n" in text.stdout
    # the service side accepts what the CLI approved
    keyring = Keyring.open(ks, kek=LocalKek.from_file(f"{ks}.kek"), environment="ops")
    verifier = TokenVerifier.for_keyring(
        keyring, APPROVERS, issuer=ISSUER, audience=OVERRIDE_AUDIENCE
    )
    overrides = Overrides(verifier, environment="prod", policy=POLICY)
    assert overrides.load(token).reason == "INC-42"
    as_json = _approve(ks, "--lifetime", "30m", "--format", "json")
    assert set(json.loads(as_json.stdout)) == {"token"}


def test_cli_inspect_refuses_invalid_and_expired(ks: Path, tmp_path: Path) -> None:
    token = _approve(ks, "--lifetime", "90").stdout.strip()
    wrong_audience = _run("override", "inspect", token, "--trust", _trust(tmp_path, "api"))
    assert wrong_audience.exit_code == 1
    assert wrong_audience.stderr == "verification failed\n"
    trust = _trust(tmp_path)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    bad = _run("override", "inspect", tampered, "--trust", trust, "--format", "json")
    assert bad.exit_code == 1
    assert json.loads(bad.stdout) == {"valid": False, "error": "verification failed"}
    # an approval signed by the same keystore two days ago, for one hour
    keyring = Keyring.open(ks, kek=LocalKek.from_file(f"{ks}.kek"), environment="ops")
    past = FixedClock(datetime.now(UTC) - timedelta(days=2))
    old = approval(
        TokenIssuer(keyring, APPROVERS, issuer=ISSUER, clock=past), lifetime=timedelta(hours=1)
    )
    expired = _run("override", "inspect", old, "--trust", trust)
    assert expired.exit_code == 1
    assert expired.stderr == "override expired\n"
    assert expired.stdout == ""


def test_cli_usage_errors(ks: Path) -> None:
    too_long = _approve(ks, "--lifetime", "8d")
    assert too_long.exit_code == 2
    assert "must be between 1s and 7d" in too_long.stderr
    assert _approve(ks, "--lifetime", "4 hours").exit_code == 2
    bad_name = _approve(ks, "--lifetime", "1h", "--what", "Not A Name")
    assert bad_name.exit_code == 2
    assert bad_name.stderr.startswith("error: what must be 1-128 characters")
    assert bad_name.stdout == ""
