"""`triage_request`: what a captured signed request carries, and which check it fails.

Input is a raw HTTP/1.1 request or a HAR file (`load_request`). The report covers every
signature scheme the library verifies (Standard Webhooks, Stripe, Slack, GitHub, RFC
9421), what an RFC 9421 signature leaves uncovered, the ``Content-Digest`` (RFC 9530),
the time window, the replay store (read only: triage never records a message id, so a
triaged message can still be delivered) and, given a secret or key, the verdict of the
library's own verifier with its internal reason. Header values other than the
signature scheme's ids and times are never shown: a capture may hold cookies or bearer
tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptorails.clock import SystemClock
from cryptorails.httpsig import SignatureKey
from cryptorails.httpsig._digest import DigestError, verify_content_digest
from cryptorails.stores import Store
from cryptorails.triage._capture import Captured
from cryptorails.triage._report import Line, Report, Section, printable
from cryptorails.triage._request_checks import _SCHEMES, _Ctx

__all__ = ["RequestReport", "triage_request"]


@dataclass
class RequestReport(Report):
    """The outcome of `triage_request`: `data` (the JSON form) and `text`."""

    ok: bool


def triage_request(
    captured: Captured,
    *,
    now: datetime | None = None,
    tolerance: timedelta = timedelta(minutes=5),
    secret: str | None = None,
    key: SignatureKey | None = None,
    key_id: str | None = None,
    store: Store | None = None,
    store_label: str = "",
) -> RequestReport:
    """Explain a captured signed request, check by check.

    Args:
        captured: from `load_request`.
        now: the time to judge against (default: now).
        tolerance: the timestamp window, either way (as the verifiers' `tolerance`).
        secret: the webhook secret or key text (``whsec_``/``whpk_``, or a provider's).
        key: an RFC 9421 key (public key or HMAC secret with its algorithm).
        key_id: the RFC 9421 keyid `key` is trusted under (default: the request's).
        store: the replay store, read only.
        store_label: how to name the store in the report (its URL without password).
    """
    message = captured.message
    headers: dict[str, str] = {}
    for name, value in message.headers:
        low = name.lower()
        headers[low] = f"{headers[low]}, {value}" if low in headers else value
    ctx = _Ctx(
        message,
        headers,
        now if now is not None else SystemClock().now(),
        tolerance,
        secret,
        key,
        key_id,
        store,
        store_label,
    )
    sections = [_request_section(captured, ctx)]
    found = []
    for name, title, names, check in _SCHEMES:
        if any(n in headers for n in names):
            found.append(name)
            sections.append(check(ctx, Section(title)))
    if not found:
        ctx.problems.append(
            "no signature scheme found (looked for Standard Webhooks, Stripe, Slack, GitHub "
            "and RFC 9421 headers): the sender did not sign, or a proxy dropped the headers"
        )
    failed = [ln for s in sections for ln in s.lines if ln.status == "FAIL"]
    ok = bool(found) and not failed
    data = {
        "ok": ok,
        "source": captured.source,
        "notes": list(captured.notes),
        "request": sections[0].data,
        "schemes": [
            {"scheme": name, **s.data, "checks": [ln.__dict__ for ln in s.lines]}
            for name, s in zip(found, sections[1:], strict=True)
        ],
        "failed": [f"{ln.label}: {ln.text}" for ln in failed],
        "diagnosis": ctx.problems,
    }
    verdict = "all checks pass" if ok else f"{len(failed) or 'no'} check(s) failed"
    closing = [Line("verdict", verdict)]
    closing += [Line("diagnosis" if i == 0 else "", p) for i, p in enumerate(ctx.problems)]
    return RequestReport(data, sections, closing, ok=ok)


def _request_section(captured: Captured, ctx: _Ctx) -> Section:
    m = ctx.message
    section = Section(f"request ({captured.source})")
    section.add("line", f"{m.method} {printable(m.target_uri or '', 300)}")
    section.add("headers", printable(", ".join(n.lower() for n, _ in m.headers), 600))
    section.add("body", f"{len(m.body)} bytes")
    section.data.update(
        method=m.method,
        target_uri=m.target_uri,
        header_names=[n.lower() for n, _ in m.headers],
        body_bytes=len(m.body),
    )
    for note in captured.notes:
        section.add("note", note)
    length = ctx.header("content-length")
    if length is not None:
        section.data["content_length_matches"] = length.strip() == str(len(m.body))
        if section.data["content_length_matches"]:
            section.add("length", f"Content-Length {length} matches the body", "ok")
        else:
            section.add(
                "length",
                f"Content-Length {printable(length, 20)} but the body has {len(m.body)} bytes",
                "FAIL",
            )
            ctx.problems.append(
                "the captured body is not the one sent: a truncated capture, "
                "or a proxy that changed the body"
            )
    digest = ctx.header("content-digest")
    if digest is None:
        section.add("digest", "no Content-Digest")
        section.data["digest"] = "absent"
        return section
    try:
        verify_content_digest(digest, m.body)
        section.add("digest", "Content-Digest matches the body (RFC 9530)", "ok")
        section.data["digest"] = "match"
    except DigestError as e:
        section.data["digest"] = "mismatch" if e.mismatch else "malformed"
        section.add("digest", f"Content-Digest: {e}", "FAIL")
        if e.mismatch:
            ctx.problems.append(
                "the body differs from the one the sender digested: changed in transit (a "
                "proxy or framework re-encoding the body before verification?) or a "
                "truncated capture"
            )
    return section
