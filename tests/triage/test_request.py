"""`cryptorails triage request` on captured raw HTTP and HAR requests (data/)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cryptorails.clock import Window
from cryptorails.errors import Reason, VerificationError
from cryptorails.httpsig import SignatureKey, Verifier
from cryptorails.httpsig import parse_request as parse_http
from cryptorails.replay import ReplayGuard
from cryptorails.stores import open_store
from cryptorails.testing import FixedClock
from cryptorails.webhooks import GitHubVerifier, WebhookVerifier

from .conftest import DATA, T0, Run, as_json, at

SECRET_FILE = DATA / "webhook-secret.txt"
PUBLIC_KEY = DATA / "httpsig-client.pub.pem"


def triage(run: Run, name: str, *args: str | Path, env: dict[str, str] | None = None) -> Any:
    return run("triage", "request", DATA / name, *args, env=env)


def scheme(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    schemes = data["schemes"]
    assert isinstance(schemes, list)
    return dict(schemes[index])


# --- Standard Webhooks ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["webhook.http", "webhook.har"])
def test_a_good_webhook_verifies(run: Run, name: str) -> None:
    result = triage(run, name, "--secret-file", SECRET_FILE, "--now", at(60))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Standard Webhooks\n" in out
    assert "[ok]   timestamp  2030-01-01T12:00:00Z: 1m old, inside the window of ±5m" in out
    assert "signature  1 entry: v1 (HMAC-SHA256)" in out
    assert "[ok]   verdict    VERIFIED by the library's Standard Webhooks verifier" in out
    assert out.endswith("verdict: all checks pass\n")
    data = as_json(
        triage(run, name, "--secret-file", SECRET_FILE, "--now", at(60), "--format", "json")
    )
    assert data["ok"] is True
    assert data["source"] == ("HAR entry 0" if name.endswith(".har") else "raw HTTP/1.1")
    webhook = scheme(data)
    assert webhook["scheme"] == "standard-webhooks"
    assert webhook["verified"] is True
    assert webhook["reason"] is None
    assert webhook["replay"] == "not_checked"
    assert webhook["timestamp"]["inside_window"] is True
    assert data["request"]["content_length_matches"] is True  # type: ignore[index]


def test_without_a_secret_the_signature_is_not_judged(run: Run) -> None:
    result = triage(run, "webhook.http", "--now", at(60), "--format", "json")
    assert result.exit_code == 0
    assert scheme(as_json(result))["verified"] is None


def test_a_tampered_body_fails_with_the_internal_reason(run: Run) -> None:
    result = triage(run, "webhook-tampered.http", "--secret-file", SECRET_FILE, "--now", at(60))
    assert result.exit_code == 1
    assert "[FAIL] verdict    NOT VERIFIED (reason: signature_invalid)" in result.stdout
    assert "the signature does not verify: the wrong secret or key" in result.stdout


def test_a_stale_timestamp(run: Run) -> None:
    result = triage(
        run, "webhook.http", "--secret-file", SECRET_FILE, "--now", at(9 * 60), "--format", "json"
    )
    assert result.exit_code == 1
    webhook = scheme(as_json(result))
    assert webhook["reason"] == "stale"
    assert webhook["timestamp"] == {
        "time": "2030-01-01T12:00:00Z",
        "seconds_from_now": -540.0,
        "inside_window": False,
    }
    text = triage(run, "webhook.http", "--now", at(9 * 60)).stdout
    assert "[FAIL] timestamp  2030-01-01T12:00:00Z: 9m old, outside the window of ±5m" in text
    assert "the timestamp is 4m outside the window of ±5m" in text


def test_secret_from_the_environment_is_never_printed(run: Run) -> None:
    secret = SECRET_FILE.read_text().strip()
    env = {"HOOK_SECRET": secret}
    for fmt in ("text", "json"):
        result = triage(
            run,
            "webhook.http",
            "--secret-env",
            "HOOK_SECRET",
            "--now",
            at(60),
            "--format",
            fmt,
            env=env,
        )
        assert result.exit_code == 0, result.output
        assert secret not in result.output
        assert secret.removeprefix("whsec_") not in result.output


def webhook_guard(url: str, namespace: str = "cryptorails") -> WebhookVerifier:
    clock = FixedClock(T0 + timedelta(seconds=30))
    guard = ReplayGuard(
        open_store(url, namespace=namespace), Window(timedelta(minutes=5)), clock=clock
    )
    return WebhookVerifier(SECRET_FILE.read_text().strip(), guard=guard, clock=clock)


def deliver(verifier: WebhookVerifier, name: str = "webhook.http") -> None:
    message = parse_http((DATA / name).read_bytes())
    verifier.verify(dict(message.headers), message.body)


def test_replay_status_in_sqlite_is_read_never_written(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/replay.db"
    verifier = webhook_guard(url)  # creates the store file
    args = ("--secret-file", SECRET_FILE, "--now", at(60), "--store", url, "--format", "json")
    for _ in range(2):  # triage twice: if it recorded, the delivery below would fail
        fresh = triage(run, "webhook.http", *args)
        assert fresh.exit_code == 0, fresh.output
        assert scheme(as_json(fresh))["replay"] == "not_seen"
    deliver(verifier)  # the real verifier accepts it: triage left no record
    replayed = triage(run, "webhook.http", *args)
    assert replayed.exit_code == 1
    assert scheme(as_json(replayed))["replay"] == "seen"
    text = triage(run, "webhook.http", "--now", at(60), "--store", url).stdout
    assert f"[FAIL] replay     SEEN before in {url} (namespace standard-webhooks)" in text
    with pytest.raises(VerificationError) as info:
        deliver(verifier)
    assert info.value.reason is Reason.REPLAY


def test_replay_status_in_redis(run: Run, redis_url: str) -> None:
    namespace = f"triage-{uuid.uuid4().hex[:12]}"
    args = ("--now", at(60), "--store", redis_url, "--store-namespace", namespace)
    assert triage(run, "webhook.http", *args).exit_code == 0
    deliver(webhook_guard(redis_url, namespace))
    result = triage(run, "webhook.http", *args, "--format", "json")
    assert result.exit_code == 1
    assert scheme(as_json(result))["replay"] == "seen"


# --- RFC 9421 ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["httpsig.http", "httpsig.har"])
def test_a_good_rfc9421_request(run: Run, name: str) -> None:
    result = triage(run, name, "--key-file", PUBLIC_KEY, "--now", at(60), "--format", "json")
    assert result.exit_code == 0, result.output
    data = as_json(result)
    assert data["request"]["digest"] == "match"  # type: ignore[index]
    sig = scheme(data)["signatures"][0]
    assert sig["covered"] == ["@method", "@authority", "@path", "@query", "content-digest"]
    assert sig["not_covered"] == []
    assert sig["keyid"] == "client-1"
    assert sig["verified"] is True
    assert sig["replay"] == "not_checked"
    assert sig["created"]["inside_window"] is True


def test_a_body_changed_after_signing(run: Run) -> None:
    result = triage(run, "httpsig-tampered-body.http", "--key-file", PUBLIC_KEY, "--now", at(60))
    assert result.exit_code == 1
    out = result.stdout
    assert "[FAIL] digest   Content-Digest: sha-256 does not match the body" in out
    assert "[FAIL] verdict  NOT VERIFIED (reason: digest_mismatch)" in out


def test_what_a_partial_signature_leaves_uncovered(run: Run) -> None:
    result = triage(
        run, "httpsig-partial.http", "--key-file", PUBLIC_KEY, "--now", at(60), "--format", "json"
    )
    assert result.exit_code == 1
    sig = scheme(as_json(result))["signatures"][0]
    assert sig["covered"] == ["@method", "@path"]
    assert sig["not_covered"] == [
        "@authority: it would pass for any host",
        "@query: the query string can be changed",
        "content-digest: the body is not protected",
    ]
    assert sig["reason"] == "component_not_covered"
    assert sig["replay"] == "no_nonce"


def test_a_replayed_nonce_in_sqlite(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nonces.db"
    clock = FixedClock(T0 + timedelta(seconds=30))
    guard = ReplayGuard(open_store(url), Window(timedelta(minutes=5)), clock=clock)
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = SignatureKey("ed25519", load_pem_public_key(PUBLIC_KEY.read_bytes()))  # type: ignore[arg-type]
    message = parse_http((DATA / "httpsig.http").read_bytes())
    args = ("--key-file", PUBLIC_KEY, "--now", at(60), "--store", url, "--format", "json")
    assert scheme(as_json(triage(run, "httpsig.http", *args)))["signatures"][0]["replay"] == (
        "not_seen"
    )
    Verifier({"client-1": key}, guard=guard, clock=clock).verify(message)
    result = triage(run, "httpsig.http", *args)
    assert result.exit_code == 1
    assert scheme(as_json(result))["signatures"][0]["replay"] == "seen"


# --- providers, no scheme, usage -----------------------------------------------------------


def provider_request(tmp_path: Path, headers: dict[str, str], body: bytes) -> Path:
    head = "POST /hooks HTTP/1.1\r\nHost: api.example.com\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    path = tmp_path / "capture.http"
    path.write_bytes(head.encode() + b"\r\n" + body)
    return path


def test_github_delivery_and_its_replay(run: Run, tmp_path: Path) -> None:
    secret, body = "gh-webhook-secret-for-tests", b'{"zen":"Keep it logically awesome."}'
    tag = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    capture = provider_request(
        tmp_path, {"X-GitHub-Delivery": "d-72d3162e", "X-Hub-Signature-256": f"sha256={tag}"}, body
    )
    (tmp_path / "gh.txt").write_text(secret)
    url = f"sqlite:///{tmp_path}/gh.db"
    store = open_store(url)
    clock = FixedClock(T0)
    guard = ReplayGuard(store, Window(timedelta(days=30)), clock=clock)
    args = ("triage", "request", capture, "--secret-file", tmp_path / "gh.txt", "--store", url)
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    github = scheme(as_json(result))
    assert github["scheme"] == "github"
    assert github["verified"] is True
    assert github["replay"] == "not_seen"
    assert "none signed: a captured delivery verifies forever" in run(*args).stdout
    message = parse_http(capture.read_bytes())
    GitHubVerifier(secret, guard, clock=clock).verify(dict(message.headers), message.body)
    assert scheme(as_json(run(*args, "--format", "json")))["replay"] == "seen"


def test_stripe_with_a_wrong_secret(run: Run, tmp_path: Path) -> None:
    t, body = int(T0.timestamp()), b'{"id":"evt_1"}'
    tag = hmac.new(b"whsec_the_real_one_000000000", f"{t}.".encode() + body, hashlib.sha256)
    capture = provider_request(tmp_path, {"Stripe-Signature": f"t={t},v1={tag.hexdigest()}"}, body)
    (tmp_path / "s.txt").write_text("whsec_another_one_0000000000")
    result = run(
        "triage",
        "request",
        capture,
        "--secret-file",
        tmp_path / "s.txt",
        "--now",
        at(10),
        "--format",
        "json",
    )
    assert result.exit_code == 1
    stripe = scheme(as_json(result))
    assert stripe["scheme"] == "stripe"
    assert stripe["reason"] == "signature_invalid"


def test_an_unsigned_request(run: Run, tmp_path: Path) -> None:
    capture = provider_request(tmp_path, {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}, b"{}")
    result = run("triage", "request", capture)
    assert result.exit_code == 1
    assert "diagnosis: no signature scheme found" in result.stdout
    assert "dXNlcjpwYXNzd29yZA" not in result.stdout  # header values are never shown


def test_usage_errors_exit_2(run: Run, tmp_path: Path) -> None:
    both = triage(run, "webhook.http", "--secret-file", SECRET_FILE, "--secret-env", "X")
    assert both.exit_code == 2
    assert "not both" in both.stderr
    unset = triage(run, "webhook.http", "--secret-env", "CRYPTORAILS_TEST_UNSET_VAR")
    assert unset.exit_code == 2
    (tmp_path / "junk").write_bytes(b"\x00\x01 not http")
    junk = run("triage", "request", tmp_path / "junk")
    assert junk.exit_code == 2
    assert "is not a raw HTTP/1.1 request or a HAR file" in junk.stderr
    (tmp_path / "odd.har").write_text('{"log": {"entries": [{"request": "GET /"}]}}')
    odd = run("triage", "request", tmp_path / "odd.har")
    assert odd.exit_code == 2
    assert "not a HAR file with a request at entry 0" in odd.stderr
    entry = triage(run, "webhook.har", "--entry", "3")
    assert entry.exit_code == 2
    assert "at entry 3" in entry.stderr
    store = triage(run, "webhook.http", "--store", f"sqlite:///{tmp_path}/missing.db")
    assert store.exit_code == 2
    assert "no SQLite store" in store.stderr
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "bad.txt").write_text("whsec_!!!")
    bad = triage(run, "webhook.http", "--secret-file", tmp_path / "bad.txt")
    assert bad.exit_code == 2
    assert "does not fit Standard Webhooks" in bad.stderr
    assert "!!!" not in bad.output
