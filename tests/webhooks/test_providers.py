"""Stripe, Slack and GitHub verifiers: valid, tampered, stale, replayed, malformed."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cryptorails.clock import Window
from cryptorails.errors import ConfigurationError, Reason, VerificationError
from cryptorails.secret import Secret
from cryptorails.stores import open_store
from cryptorails.testing import FixedClock
from cryptorails.webhooks import GitHubVerifier, SlackVerifier, StripeVerifier

from .conftest import NOW, WindowedGuard

BODY = b'{"id":"evt_1","object":"event"}'
STRIPE = "whsec_test_0123456789abcdefghijklmn"
SLACK = "8f742231b10e8888abcd99yyyzzz85a5"
GITHUB = "It's a Secret to Everybody"
TS = int(NOW.timestamp())


def _fails(reason: Reason, fn: Any, *args: Any) -> None:
    with pytest.raises(VerificationError) as info:
        fn(*args)
    assert str(info.value) == "verification failed"
    assert info.value.reason is reason


def _hex(secret: str, content: bytes) -> str:
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def stripe_headers(secret: str = STRIPE, t: int = TS, body: bytes = BODY) -> dict[str, str]:
    return {"Stripe-Signature": f"t={t},v1={_hex(secret, f'{t}.'.encode() + body)}"}


def slack_headers(secret: str = SLACK, t: int = TS, body: bytes = BODY) -> dict[str, str]:
    return {
        "X-Slack-Request-Timestamp": str(t),
        "X-Slack-Signature": "v0=" + _hex(secret, f"v0:{t}:".encode() + body),
    }


def github_headers(secret: str = GITHUB, delivery: str = "72d3162e-cc78-11e3") -> dict[str, str]:
    return {"X-GitHub-Delivery": delivery, "X-Hub-Signature-256": "sha256=" + _hex(secret, BODY)}


# --- Stripe -----------------------------------------------------------------------------


def test_stripe_valid_and_secret_types(clock: FixedClock) -> None:
    assert StripeVerifier(STRIPE, clock=clock).verify(stripe_headers(), BODY) == BODY
    secret = Secret(STRIPE.encode())
    assert StripeVerifier(secret, clock=clock).verify(stripe_headers(), BODY) == BODY


def test_stripe_rolled_secret_sends_two_v1(clock: FixedClock) -> None:
    old = "whsec_old_0123456789abcdefghijklmn"
    content = f"{TS}.".encode() + BODY
    header = f"t={TS},v1={_hex(old, content)},v1={_hex(STRIPE, content)},v0=00"
    assert StripeVerifier(STRIPE, clock=clock).verify({"stripe-signature": header}, BODY) == BODY
    assert StripeVerifier([old], clock=clock).verify({"stripe-signature": header}, BODY) == BODY


def test_stripe_failures(clock: FixedClock) -> None:
    verifier = StripeVerifier(STRIPE, clock=clock)
    _fails(
        Reason.SIGNATURE_INVALID,
        verifier.verify,
        stripe_headers("whsec_wrong_0123456789abcdefgh"),
        BODY,
    )
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, stripe_headers(), BODY + b"x")
    _fails(Reason.MISSING_HEADER, verifier.verify, {}, BODY)
    _fails(Reason.MISSING_HEADER, verifier.verify, {"Stripe-Signature": "v1=" + "0" * 64}, BODY)
    # The default window is 5 minutes either way, edges included.
    assert verifier.verify(stripe_headers(t=TS - 300), BODY) == BODY
    assert verifier.verify(stripe_headers(t=TS + 300), BODY) == BODY
    _fails(Reason.STALE, verifier.verify, stripe_headers(t=TS - 301), BODY)
    _fails(Reason.FUTURE, verifier.verify, stripe_headers(t=TS + 301), BODY)
    # Only v0 (not accepted) signatures: nothing verifies.
    content = f"{TS}.".encode() + BODY
    _fails(
        Reason.SIGNATURE_INVALID,
        verifier.verify,
        {"Stripe-Signature": f"t={TS},v0={_hex(STRIPE, content)}"},
        BODY,
    )


@pytest.mark.parametrize(
    "header",
    [
        "t=1,t=2,v1=" + "0" * 64,
        f"t={TS},v1=" + "0" * 63,
        f"t={TS},v1=" + "A" * 64,
        f"t={TS},,v1=" + "0" * 64,
        f"t={TS},v1",
        "t=abc,v1=" + "0" * 64,
        f"t= {TS},v1=" + "0" * 64,
    ],
)
def test_stripe_malformed(clock: FixedClock, header: str) -> None:
    _fails(
        Reason.MALFORMED,
        StripeVerifier(STRIPE, clock=clock).verify,
        {"Stripe-Signature": header},
        BODY,
    )


def test_stripe_too_many_and_too_large(clock: FixedClock) -> None:
    verifier = StripeVerifier(STRIPE, clock=clock)
    many = f"t={TS}," + ",".join(["v1=" + "0" * 64] * 40)
    _fails(Reason.TOO_LARGE, verifier.verify, {"Stripe-Signature": many}, BODY)
    huge = f"t={TS},v1=" + "0" * 5000
    _fails(Reason.TOO_LARGE, verifier.verify, {"Stripe-Signature": huge}, BODY)


def test_stripe_replay(clock: FixedClock, guard: Any) -> None:
    verifier = StripeVerifier(STRIPE, guard=guard, clock=clock)
    assert verifier.verify(stripe_headers(), BODY) == BODY
    _fails(Reason.REPLAY, verifier.verify, stripe_headers(), BODY)
    # Stripe's own retry has a new timestamp and a new signature: accepted.
    assert verifier.verify(stripe_headers(t=TS + 1), BODY) == BODY


# --- Slack ------------------------------------------------------------------------------


def test_slack_valid_and_failures(clock: FixedClock) -> None:
    verifier = SlackVerifier(SLACK, clock=clock)
    assert verifier.verify(slack_headers(), BODY) == BODY
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, slack_headers("0" * 32), BODY)
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, slack_headers(), b"tampered")
    assert verifier.verify(slack_headers(t=TS - 300), BODY) == BODY
    _fails(Reason.STALE, verifier.verify, slack_headers(t=TS - 301), BODY)
    _fails(Reason.FUTURE, verifier.verify, slack_headers(t=TS + 301), BODY)
    headers = slack_headers()
    del headers["X-Slack-Request-Timestamp"]
    _fails(Reason.MISSING_HEADER, verifier.verify, headers, BODY)
    _fails(Reason.MISSING_HEADER, verifier.verify, {"X-Slack-Request-Timestamp": str(TS)}, BODY)


@pytest.mark.parametrize(
    "signature", ["v1=" + "0" * 64, "v0" + "0" * 64, "v0=" + "0" * 65, "v0=xyz"]
)
def test_slack_malformed(clock: FixedClock, signature: str) -> None:
    headers = {**slack_headers(), "X-Slack-Signature": signature}
    _fails(Reason.MALFORMED, SlackVerifier(SLACK, clock=clock).verify, headers, BODY)


def test_slack_replay(clock: FixedClock, guard: Any) -> None:
    verifier = SlackVerifier(SLACK, guard=guard, clock=clock)
    assert verifier.verify(slack_headers(), BODY) == BODY
    _fails(Reason.REPLAY, verifier.verify, slack_headers(), BODY)


# --- GitHub -----------------------------------------------------------------------------


def test_github_requires_a_guard() -> None:
    with pytest.raises(ValueError, match="replay guard"):
        GitHubVerifier(GITHUB, guard=None)  # type: ignore[arg-type]


def test_github_valid_replay_and_failures(clock: FixedClock, long_guard: Any) -> None:
    verifier = GitHubVerifier(GITHUB, guard=long_guard, clock=clock)
    # GitHub's documented example: this secret and body give this signature.
    documented = {
        "X-GitHub-Delivery": "example",
        "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a"
        "37570b6d7586c22c46f4379c8b043e17",
    }
    assert verifier.verify(documented, b"Hello, World!") == b"Hello, World!"
    assert verifier.verify(github_headers(), BODY) == BODY
    _fails(Reason.REPLAY, verifier.verify, github_headers(), BODY)
    # Later (no timestamp is signed) the same delivery id is still a replay
    # for as long as the guard remembers it.
    clock.advance(timedelta(minutes=4))
    _fails(Reason.REPLAY, verifier.verify, github_headers(), BODY)
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, github_headers("wrong secret!!!!!"), BODY)
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, github_headers(delivery="d2"), b"x")
    _fails(
        Reason.MISSING_HEADER, verifier.verify, {"X-Hub-Signature-256": "sha256=" + "0" * 64}, BODY
    )
    _fails(
        Reason.MALFORMED,
        verifier.verify,
        {**github_headers(), "X-Hub-Signature-256": "sha1=" + "0" * 40},
        BODY,
    )
    _fails(
        Reason.MALFORMED, verifier.verify, {**github_headers(), "X-GitHub-Delivery": "a b"}, BODY
    )
    # A forged delivery does not burn its id.
    forged = github_headers("wrong secret!!!!!", delivery="d3")
    _fails(Reason.SIGNATURE_INVALID, verifier.verify, forged, BODY)
    assert verifier.verify(github_headers(delivery="d3"), BODY) == BODY


def test_github_captured_delivery_is_refused_for_the_whole_remember_period(
    clock: FixedClock, long_guard: Any
) -> None:
    verifier = GitHubVerifier(GITHUB, guard=long_guard, clock=clock)
    assert verifier.verify(github_headers(), BODY) == BODY
    # The guard is asked with the verifier's now, so a later replay passes the guard's
    # window and meets the stored id (store expiry itself runs on the store's own clock).
    for later in (timedelta(minutes=11), timedelta(days=1), timedelta(days=29)):
        clock.set(NOW + later)
        _fails(Reason.REPLAY, verifier.verify, github_headers(), BODY)


def _windowed_guard(tmp_path: Path, clock: FixedClock, window: Window) -> WindowedGuard:
    return WindowedGuard(open_store(f"sqlite:///{tmp_path}/g.db"), window, clock=clock)


def test_github_refuses_a_guard_that_forgets_too_soon(tmp_path: Path, clock: FixedClock) -> None:
    short = _windowed_guard(tmp_path, clock, Window(timedelta(minutes=5)))
    with pytest.raises(ConfigurationError, match="remembers delivery ids for 30 days"):
        GitHubVerifier(GITHUB, guard=short, clock=clock)
    # The span (past + future) is what the guard remembers: 5 + 5 minutes covers 10.
    assert GitHubVerifier(GITHUB, short, clock, remember=timedelta(minutes=10)) is not None
    with pytest.raises(ConfigurationError, match="spans only 0:10:00"):
        GitHubVerifier(GITHUB, short, clock, remember=timedelta(minutes=10, seconds=1))
    month = _windowed_guard(tmp_path, clock, Window(timedelta(days=30), timedelta(0)))
    assert GitHubVerifier(GITHUB, guard=month, clock=clock) is not None


def test_github_remember_configuration(long_guard: Any) -> None:
    with pytest.raises(TypeError, match="remember is a timedelta"):
        GitHubVerifier(GITHUB, long_guard, remember=30)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="remember must be positive"):
        GitHubVerifier(GITHUB, long_guard, remember=timedelta(0))


@pytest.mark.parametrize("headers", [None, [("X-GitHub-Delivery", "d1")], "x: y"])
def test_headers_that_are_not_a_mapping_are_a_type_error(
    clock: FixedClock, long_guard: Any, headers: Any
) -> None:
    for verifier in (
        StripeVerifier(STRIPE, clock=clock),
        SlackVerifier(SLACK, clock=clock),
        GitHubVerifier(GITHUB, guard=long_guard, clock=clock),
    ):
        with pytest.raises(TypeError, match="headers is a mapping"):
            verifier.verify(headers, BODY)


def test_secrets_configuration() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        StripeVerifier("short")
    with pytest.raises(ValueError, match="at least one"):
        SlackVerifier([])
    with pytest.raises(TypeError):
        StripeVerifier([b"bytes are not accepted"])  # type: ignore[list-item]
