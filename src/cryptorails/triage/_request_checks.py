"""The per-scheme checks behind `triage_request`, one function per signature scheme.

It holds the shared context of one triage (`_Ctx`), the checks every scheme reuses (time
window, read-only replay lookup, the library verifier's verdict) and the checks of
Standard Webhooks, Stripe, Slack, GitHub and RFC 9421, listed in `_SCHEMES` with the
headers that reveal each scheme.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptorails.errors import ConfigurationError, Reason, StoreUnavailable, VerificationError
from cryptorails.httpsig import HttpMessage, SignatureKey, Verifier
from cryptorails.httpsig._sf import InnerList, SFError, parse_dictionary
from cryptorails.replay import ReplayGuard
from cryptorails.stores import Store
from cryptorails.triage._report import SKEW_LIMIT, AtClock, Section, human_duration, iso, printable
from cryptorails.webhooks import GitHubVerifier, SlackVerifier, StripeVerifier, WebhookVerifier
from cryptorails.webhooks._common import MESSAGE_ID, parse_unix_seconds

Facts = dict[str, Any]


class _Unrecorded:
    """A replay check that accepts without recording: triage judges replay on its own,
    read-only (`_replay`), and must never burn an id a real delivery still needs."""

    def check(self, namespace: str, message_id: str, timestamp: datetime) -> None:
        return None


@dataclass
class _Ctx:
    message: HttpMessage
    headers: dict[str, str]
    now: datetime
    tolerance: timedelta
    secret: str | None
    key: SignatureKey | None
    key_id: str | None
    store: Store | None
    store_label: str
    problems: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def _window(ctx: _Ctx, section: Section, label: str, when: datetime, into: Facts) -> None:
    d = (when - ctx.now).total_seconds()
    tol = ctx.tolerance.total_seconds()
    into[label] = {"time": iso(when), "seconds_from_now": d, "inside_window": -tol <= d <= tol}
    window = f"the window of ±{human_duration(tol)}"
    rel = f"{human_duration(d)} " + ("old" if d <= 0 else "in the future")
    if -tol <= d <= tol:
        section.add(label, f"{iso(when)}: {rel}, inside {window}", "ok")
        return
    section.add(label, f"{iso(when)}: {rel}, outside {window}", "FAIL")
    off = abs(d) - tol
    if off <= SKEW_LIMIT.total_seconds():
        side = "behind" if d < 0 else "ahead of"
        ctx.problems.append(
            f"the {label} is {human_duration(off)} outside {window}: a delayed delivery, a "
            f"replay, or the sender's clock {side} this host's (run `cryptorails triage "
            "clocks`)"
        )
    else:
        ctx.problems.append(
            f"the {label} is far outside {window} ({rel}): a replayed capture or a badly "
            "wrong sender clock, not ordinary skew"
        )


def _replay(ctx: _Ctx, section: Section, namespace: str, message_id: str, into: Facts) -> None:
    """Whether a `ReplayGuard` on the store has seen the message. Reads; never records."""
    into["replay"] = "not_checked"
    if ctx.store is None:
        section.add("replay", "not checked (pass --store URL)")
        return
    key = ReplayGuard.store_key(namespace, message_id)
    where = f"{ctx.store_label} (namespace {namespace})"
    try:
        seen = ctx.store.get(key) is not None
    except StoreUnavailable as e:
        section.add("replay", f"store unavailable: {e}", "FAIL")
        into["replay"] = "unavailable"
        return
    into["replay"] = "seen" if seen else "not_seen"
    if seen:
        section.add("replay", f"SEEN before in {where}: a replay", "FAIL")
        ctx.problems.append(
            "this exact message was accepted before: a replay, or a sender retrying without "
            "a new timestamp and signature"
        )
    else:
        section.add("replay", f"not seen in {where}", "ok")


def _verdict(
    ctx: _Ctx, section: Section, run: Callable[[], object], what: str, into: Facts
) -> None:
    try:
        run()
    except VerificationError as e:
        into.update(verified=False, reason=e.reason.value)
        section.add("verdict", f"NOT VERIFIED (reason: {e.reason.value})", "FAIL")
        ctx.problems.append(_REASONS.get(e.reason, f"{what} refused: {e.reason.value}"))
        return
    except (TypeError, ValueError) as e:
        # The secret or key does not fit the scheme: a usage error, said without the secret.
        raise ConfigurationError(f"the secret or key does not fit {what}: {e}") from None
    into.update(verified=True, reason=None)
    section.add("verdict", f"VERIFIED by the library's {what} verifier", "ok")


_REASONS = {
    Reason.SIGNATURE_INVALID: "the signature does not verify: the wrong secret or key "
    "(rotated? test vs live?), or the signed parts (body, timestamp, covered headers) "
    "changed after signing",
    Reason.DIGEST_MISMATCH: "the body does not match its Content-Digest",
    Reason.COMPONENT_NOT_COVERED: "the signature verifies but does not cover what the "
    "default policy requires (method and target, and content-digest when there is a body)",
    Reason.MISSING_HEADER: "a header the scheme needs is missing",
    Reason.MISSING_PARAMETER: "a required signature parameter (created, keyid) is missing",
    Reason.UNKNOWN_KEY: "the request's keyid is not the one the key was given for",
    Reason.ALGORITHM_MISMATCH: "the request's alg does not match the key's algorithm",
}


def _secret_verdict(ctx: _Ctx, section: Section, what: str, make: Callable[..., Any]) -> None:
    if ctx.secret is None:
        section.add("verdict", "signature not checked (pass --secret-env or --secret-file)")
        section.data["verified"] = None
        return
    secret = ctx.secret

    def run() -> object:
        verifier = make(secret, tolerance=ctx.tolerance, clock=AtClock(ctx.now))
        return verifier.verify(ctx.headers, ctx.message.body)

    _verdict(ctx, section, run, what, section.data)


def _timestamp(ctx: _Ctx, section: Section, label: str, text: str | None) -> str | None:
    if text is None:
        return None
    try:
        when = parse_unix_seconds(text)
    except VerificationError:
        section.add(label, f"not Unix seconds: {printable(text, 40)}", "FAIL")
        return None
    _window(ctx, section, label, when, section.data)
    return text


def _present(ctx: _Ctx, section: Section, names: tuple[str, ...]) -> None:
    missing = [n for n in names if n not in ctx.headers]
    if missing:
        section.add("headers", f"missing: {', '.join(missing)}", "FAIL")
    else:
        section.add("headers", f"{', '.join(names)} present", "ok")


_STANDARD = ("webhook-id", "webhook-timestamp", "webhook-signature")


def _standard(ctx: _Ctx, section: Section) -> Section:
    _present(ctx, section, _STANDARD)
    msg_id = ctx.header("webhook-id")
    if msg_id is not None:
        good = MESSAGE_ID.fullmatch(msg_id) is not None and "." not in msg_id
        section.add("id", printable(msg_id, 120), "" if good else "FAIL")
    ts = _timestamp(ctx, section, "timestamp", ctx.header("webhook-timestamp"))
    entries = (ctx.header("webhook-signature") or "").split(" ")
    kinds = {"v1": "v1 (HMAC-SHA256)", "v1a": "v1a (Ed25519)"}
    versions = [e.partition(",")[0] for e in entries if e]
    shown = ", ".join(kinds.get(v, f"unknown {printable(v, 20)}") for v in versions) or "none"
    section.add("signature", f"{len(versions)} entr{'y' if len(versions) == 1 else 'ies'}: {shown}")
    if msg_id is not None and ts is not None:
        _replay(ctx, section, "standard-webhooks", f"{msg_id}.{ts}", section.data)
    _secret_verdict(ctx, section, "Standard Webhooks", WebhookVerifier)
    return section


def _stripe(ctx: _Ctx, section: Section) -> Section:
    header = ctx.header("stripe-signature") or ""
    items = [i.partition("=") for i in header.split(",")]
    t = next((v for k, _, v in items if k == "t"), None)
    v1 = sum(1 for k, _, _ in items if k == "v1")
    section.add(
        "signature",
        f"t={printable(t or '(missing)', 20)}, {v1} v1 entr{'y' if v1 == 1 else 'ies'}",
        "" if t and v1 else "FAIL",
    )
    if _timestamp(ctx, section, "timestamp", t) is not None and t is not None:
        content = t.encode("ascii", "replace") + b"." + ctx.message.body
        _replay(ctx, section, "stripe", hashlib.sha256(content).hexdigest(), section.data)
    _secret_verdict(ctx, section, "Stripe", StripeVerifier)
    return section


def _slack(ctx: _Ctx, section: Section) -> Section:
    _present(ctx, section, ("x-slack-signature", "x-slack-request-timestamp"))
    ts = _timestamp(ctx, section, "timestamp", ctx.header("x-slack-request-timestamp"))
    if ts is not None:
        content = b"v0:" + ts.encode("ascii") + b":" + ctx.message.body
        _replay(ctx, section, "slack", hashlib.sha256(content).hexdigest(), section.data)
    _secret_verdict(ctx, section, "Slack", SlackVerifier)
    return section


def _github(ctx: _Ctx, section: Section) -> Section:
    _present(ctx, section, ("x-hub-signature-256", "x-github-delivery"))
    section.add(
        "timestamp",
        "none signed: a captured delivery verifies forever; only the replay store refuses it again",
    )
    delivery = ctx.header("x-github-delivery")
    if delivery is not None:
        section.add("id", printable(delivery, 120))
        _replay(ctx, section, "github", delivery, section.data)
    if ctx.secret is None:
        section.add("verdict", "signature not checked (pass --secret-env or --secret-file)")
        section.data["verified"] = None
        return section
    verifier = GitHubVerifier(ctx.secret, _Unrecorded())
    run = functools.partial(verifier.verify, ctx.headers, ctx.message.body)
    _verdict(ctx, section, run, "GitHub", section.data)
    return section


def _rfc9421(ctx: _Ctx, section: Section) -> Section:
    _present(ctx, section, ("signature-input", "signature"))
    try:
        inputs = parse_dictionary(ctx.header("signature-input") or "")
    except SFError as e:
        section.add("input", f"Signature-Input is not a structured dictionary: {e}", "FAIL")
        return section
    if not inputs:
        section.add("input", "Signature-Input is empty", "FAIL")
    signatures: list[Facts] = []
    section.data["signatures"] = signatures
    for label, member in inputs[:8]:
        name = printable(label, 40)
        if not isinstance(member, InnerList):
            section.add(name, "not an inner list of components", "FAIL")
            continue
        covered = [str(item.value) for item in member.items]
        params = dict(member.params)
        keyid = params.get("keyid")
        gaps = _gaps(ctx.message, set(covered), "content-digest" in ctx.headers)
        facts: Facts = {"label": label, "covered": covered, "keyid": keyid, "not_covered": gaps}
        signatures.append(facts)
        shown = ", ".join(printable(c, 60) for c in covered) or "nothing"
        section.add(name, f"covers {shown}")
        extras = [
            f"{k}={printable(str(params[k]), 80)}"
            for k in ("keyid", "alg", "nonce", "tag")
            if k in params
        ]
        has_keyid = isinstance(keyid, str)
        section.add("params", ", ".join(extras) or "no keyid", "" if has_keyid else "FAIL")
        for gap in gaps:
            section.add("not covered", gap, "FAIL")
            ctx.problems.append(f"signature {name} does not cover {gap}")
        _sig_times(ctx, section, params, facts)
        nonce = params.get("nonce")
        if isinstance(nonce, str) and isinstance(keyid, str):
            # As `httpsig.Verifier` names it: nonces are per key, length-prefixed.
            message_id = hashlib.sha256(f"{len(keyid)}:{keyid}:{nonce}".encode()).hexdigest()
            _replay(ctx, section, "httpsig", message_id, facts)
        else:
            facts["replay"] = "no_nonce"
            section.add("replay", "no nonce: only the time window limits a replay")
        if ctx.key is None:
            facts["verified"] = None
            section.add("verdict", "signature not checked (pass --key-file or a secret)")
            continue
        kid = ctx.key_id or (keyid if isinstance(keyid, str) else "")
        verifier = Verifier({kid: ctx.key}, tolerance=ctx.tolerance, clock=AtClock(ctx.now))
        run = functools.partial(verifier.verify, ctx.message, label)
        _verdict(ctx, section, run, "RFC 9421", facts)
    return section


def _gaps(message: HttpMessage, covered: set[str], has_digest: bool) -> list[str]:
    """What the covered list leaves open that an attacker could change."""
    gaps = []
    if "@method" not in covered:
        gaps.append("@method: it would pass for another method")
    if "@target-uri" not in covered:
        if "@authority" not in covered:
            gaps.append("@authority: it would pass for any host")
        if not {"@path", "@request-target"} & covered:
            gaps.append("@path: it would pass for any path")
        if "?" in (message.target_uri or "") and not {"@query", "@request-target"} & covered:
            gaps.append("@query: the query string can be changed")
    if message.body and "content-digest" not in covered:
        gaps.append("content-digest: the body is not protected")
    if "content-digest" in covered and not has_digest:
        gaps.append("content-digest is listed but the request has no Content-Digest")
    return gaps


def _sig_times(ctx: _Ctx, section: Section, params: dict[str, Any], into: Facts) -> None:
    created, expires = params.get("created"), params.get("expires")
    for label, value in (("created", created), ("expires", expires)):
        if value is None:
            if label == "created":
                section.add("created", "absent (the default policy requires it)", "FAIL")
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**11:
            section.add(label, f"not Unix seconds: {printable(str(value), 40)}", "FAIL")
        elif label == "created":
            _window(ctx, section, "created", datetime.fromtimestamp(value, UTC), into)
        else:
            d = value - ctx.now.timestamp()
            at = iso(datetime.fromtimestamp(value, UTC))
            into["expires"] = {"time": at, "seconds_from_now": d, "passed": d < 0}
            if d < 0:
                section.add("expires", f"{at}: expired {human_duration(d)} ago", "FAIL")
                ctx.problems.append("the signature's expires time has passed")
            else:
                section.add("expires", f"{at}: expires in {human_duration(d)}", "ok")


_SCHEMES: tuple[tuple[str, str, tuple[str, ...], Callable[[_Ctx, Section], Section]], ...] = (
    ("standard-webhooks", "Standard Webhooks", _STANDARD, _standard),
    ("stripe", "Stripe", ("stripe-signature",), _stripe),
    ("slack", "Slack", ("x-slack-signature", "x-slack-request-timestamp"), _slack),
    ("github", "GitHub", ("x-hub-signature-256", "x-github-delivery"), _github),
    ("rfc9421", "RFC 9421 HTTP Message Signatures", ("signature-input", "signature"), _rfc9421),
)
