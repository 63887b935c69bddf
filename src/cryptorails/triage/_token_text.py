"""What `triage_token` reads and says: the unverified token parts and the diagnosis texts.

It holds the decoding of a token's header and payload for display (read before, and
whether or not, they verify, with their I-JSON and RFC 8785 checks), the short renderings
of those parts, and the sentences that explain a verdict, reason by reason, to an operator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptorails import canonical
from cryptorails.errors import Reason
from cryptorails.tokens._signing import b64u_decode
from cryptorails.triage._report import (
    SKEW_LIMIT,
    ClockSkew,
    compact_json,
    human_duration,
    printable,
)

if TYPE_CHECKING:
    from cryptorails.triage._token import _Triage


@dataclass
class _Part:
    """A decoded header or payload, read before (and whether or not) it verifies."""

    name: str
    raw: bytes | None = None
    value: Any = None
    strict: bool = False
    canonical: bool | None = None
    duplicates: list[str] = field(default_factory=list)
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "strict_ijson": self.strict,
            "canonical": self.canonical,
            "duplicate_names": self.duplicates,
            "problem": self.problem,
        }


def _lenient(raw: bytes, dups: list[str]) -> Any:
    """The value most JSON parsers would read (last duplicate wins), for display only."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in items:
            if name in out and name not in dups:
                dups.append(name)
            out[name] = value
        return out

    try:
        return json.loads(raw.decode("utf-8", "replace"), object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return None


def _decode(name: str, text: str) -> _Part:
    part = _Part(name)
    raw = b64u_decode(text)
    if raw is None:
        part.problem = "not strict base64url without padding (RFC 7515 §2)"
        return part
    part.raw = raw
    try:
        part.value = canonical.loads(raw)
    except canonical.DuplicateNameError:
        part.value = _lenient(raw, part.duplicates)
        names = ", ".join(json.dumps(d, ensure_ascii=True) for d in part.duplicates)
        part.problem = f"duplicate member names {names} (RFC 7493 §2.3)"
        return part
    except canonical.CanonicalJSONError as e:
        part.value = _lenient(raw, part.duplicates)
        part.problem = f"not strict I-JSON: {e.msg}"
        return part
    part.strict = True
    try:
        part.canonical = canonical.dumps(part.value) == raw
    except canonical.CanonicalJSONError:
        part.canonical = False
    return part


def _canonical_line(part: _Part) -> tuple[str, str]:
    if part.problem is not None:
        return part.problem, "FAIL"  # our own text; names in it are JSON-escaped
    if part.canonical:
        return "strict I-JSON; bytes are their RFC 8785 canonical form", "ok"
    # Not a failure: the signature covers the bytes as sent, and they are parsed once.
    return "strict I-JSON; bytes differ from their RFC 8785 form (allowed; signed as sent)", ""


def _alg(alg: object) -> str:
    return printable(alg, 40) if isinstance(alg, str) else compact_json(alg, 40)


def _shown(part: _Part) -> str:
    if part.value is None:
        return "(unreadable)" if part.raw is None else "(not JSON)"
    shown = compact_json(part.value)
    return shown + " (duplicate names: the last value is shown)" if part.duplicates else shown


def _diagnose(
    t: _Triage,
    reason: Reason | None,
    header: _Part | None,
    payload: _Part | None,
    key: dict[str, Any],
    claims: dict[str, Any],
    skew: ClockSkew | None,
    elsewhere: str | None,
) -> list[str]:
    out = [] if skew is not None and skew.caused_failure else _reason_text(t, reason, key, claims)
    if payload is not None and payload.duplicates:
        out.append(
            "the payload has duplicate member names: parsers disagree on which value counts "
            "(first vs last wins); the issuer's encoder is broken, or the token was crafted "
            "to exploit that difference"
        )
    if header is not None and header.duplicates:
        out.append("the header has duplicate member names: it is refused whatever they hold")
    if elsewhere is not None:
        out.append(
            f"its signature verifies under tenant {elsewhere}'s keys: the token belongs to "
            "that tenant; the request was routed to (or sent for) the wrong tenant"
        )
    if skew is not None:
        out.insert(0 if reason is not None else len(out), skew.text)
    return out


def _reason_text(
    t: _Triage, reason: Reason | None, key: dict[str, Any], claims: dict[str, Any]
) -> list[str]:
    kid = printable(str(key.get("kid")), 80)
    limit = human_duration(SKEW_LIMIT)
    if reason is None:
        return [f"the token verifies for tenant {t.tenant} (kid {kid}, {key.get('algorithm')})"]
    if reason is Reason.MISSING_CLAIM:
        wanted = {"iss", *t.view.required, *(["aud"] if t.view.audience else [])}
        missing = ", ".join(sorted(n for n in wanted if n not in claims)) or "?"
        return [f"required claims are missing: {missing}"]
    if reason is Reason.WRONG_ISSUER:
        got = compact_json(claims.get("iss"), 200)
        return [
            f"iss is {got} but tenant {t.tenant} trusts {t.view.issuer!r}: a token from "
            "another issuer or environment (staging vs prod?)"
        ]
    if reason is Reason.WRONG_AUDIENCE:
        got = compact_json(claims.get("aud"), 200)
        if t.view.audience is None:
            return [f"the token is for audience {got}, and this tenant accepts none"]
        return [f"the token is for audience {got}, not this service ({t.view.audience!r})"]
    if reason in (Reason.NOT_YET_VALID, Reason.ISSUED_IN_FUTURE):
        return [
            "the token is dated in the future beyond the leeway; by more than "
            f"{limit} it is not ordinary clock skew (a badly set issuer clock, or a token "
            "made to live longer than it should)"
        ]
    texts = {
        Reason.EXPIRED: "the token expired: the client used it after its lifetime (did it "
        "refresh?)",
        Reason.TOO_OLD: "the token is older than the configured max_age",
        Reason.UNKNOWN_KEY: f"kid {kid} is not in tenant {t.tenant}'s keyset: signed by "
        "another issuer or tenant, by a new key this host has not loaded yet (refresh the "
        "keyset or JWKS after a rotation), or by a key already removed",
        Reason.KEY_DISABLED: f"kid {kid} is disabled in this keyset: the token was signed "
        "before a rotation retired that key; the client needs a new token",
        Reason.KEY_DESTROYED: f"kid {kid} is destroyed in this keyset: tokens it signed are "
        "void; the client needs a new token",
        Reason.KID_REQUIRED: "the token has no kid and the keyset has several usable keys: "
        "the issuer must set kid",
        Reason.ALGORITHM_MISMATCH: f"the header's alg {_alg(key.get('header_alg'))}"
        f" does not match key {kid} ({key.get('algorithm')}): the key decides the algorithm; "
        "a token made for another key type, or an algorithm-confusion attempt",
        Reason.SIGNATURE_INVALID: f"the signature does not verify under kid {kid}: the token "
        "was altered, or signed by another key under the same kid (a key regenerated "
        "without a new kid, or another environment's keystore)",
        Reason.PAYLOAD_INVALID: "the signed payload is not a strict I-JSON object: the "
        "verifier refuses to guess how to read it",
        Reason.MALFORMED: "the token is not a well-formed JWS compact token (see above)",
        Reason.ALG_NONE: "alg none: an unsigned token, always refused",
        Reason.FORBIDDEN_HEADER: "the header names a key location (jku, x5u, x5c, jwk, ...): "
        "keys never come from the token",
        Reason.CRIT_UNSUPPORTED: "the header has crit extensions this verifier does not know",
        Reason.TOO_LARGE: "the token is longer than the verifier accepts",
        Reason.CLAIM_INVALID: "a claim has the wrong type (exp, nbf, iat are numbers; aud a "
        "string or a list of strings)",
    }
    return [texts.get(reason, f"refused with reason {reason.value}")]
