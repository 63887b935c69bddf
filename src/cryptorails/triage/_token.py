"""`triage_token`: why a token does or does not verify for a tenant, check by check.

Operator tooling: it says exactly which check failed, so it never runs on the serving
path. The verdict is the library's own `TokenVerifier` (the tenant's, from the trust
file, at the given "now" and leeway); everything around it explains that verdict. Key
material is never shown: keys are described by kid, algorithm and state only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptorails import canonical
from cryptorails.clock import SystemClock
from cryptorails.errors import ConfigurationError, Reason, VerificationError
from cryptorails.tokens import TokenVerifier, TrustedIssuers
from cryptorails.tokens._jws import FORBIDDEN_HEADERS, KeySource, StaticSource, verify_compact
from cryptorails.tokens._keytable import KeyringSource, KeyTable, TrustedKey
from cryptorails.tokens._signing import b64u_decode
from cryptorails.triage._report import (
    SKEW_LIMIT,
    AtClock,
    ClockSkew,
    Line,
    Section,
    TimeClaim,
    compact_json,
    human_duration,
    iso,
    printable,
    render,
    skew_of,
    time_claims,
)

__all__ = ["TokenReport", "triage_token"]

# Far above any real token (the verifier refuses more than 8 KiB by default), still small
# enough that decoding and printing a pasted blob costs nothing.
_MAX_TRIAGE_CHARS = 64 * 1024
_RETIRED = {Reason.KEY_DISABLED: "disabled", Reason.KEY_DESTROYED: "destroyed"}


@dataclass(frozen=True)
class _View:
    """What a `TokenVerifier` was configured with."""

    issuer: str
    audience: str | None
    leeway: timedelta
    max_age: timedelta | None
    required: tuple[str, ...]
    max_bytes: int
    source: KeySource


def _view(verifier: TokenVerifier) -> _View:
    # TokenVerifier has no public read-only view of its settings yet (wanted: a
    # `TokenVerifier.settings` property); triage reads the slots here, and only here.
    max_age = verifier._max_age
    return _View(
        issuer=verifier._issuer,
        audience=verifier._audience,
        leeway=timedelta(seconds=verifier._leeway),
        max_age=None if max_age is None else timedelta(seconds=max_age),
        required=verifier._required,
        max_bytes=verifier._max_bytes,
        source=verifier._source,
    )


def _verifier_at(view: _View, now: datetime, leeway: timedelta) -> TokenVerifier:
    """The same verifier (same keys, issuer, audience, limits) at `now` with `leeway`."""
    verifier = TokenVerifier.__new__(TokenVerifier)
    verifier._configure(
        view.source,
        view.issuer,
        view.audience,
        leeway,
        AtClock(now),
        view.max_age,
        view.required,
        view.max_bytes,
    )
    return verifier


@dataclass(frozen=True)
class _Key:
    kid: str | None
    algorithm: str
    state: str  # primary, active, disabled, destroyed; "usable" for a JWKS key
    usable: bool


def _table_keys(table: KeyTable) -> list[TrustedKey]:
    keys = list(table._by_kid.values())
    only = table._only
    if only is not None and only.kid is None:
        keys.append(only)
    return keys


def _keyset(source: KeySource) -> tuple[str, list[_Key]]:
    """A description of the verifier's key source and its keys (never their material)."""
    if isinstance(source, KeyringSource):
        ctx, keyring = source._ctx, source._keyring
        where = f"keystore keyset {ctx.tenant}/{ctx.purpose} (environment {keyring.environment})"
        keyset = keyring.refresh(ctx)
        if keyset is None:
            return where + ": no such keyset", []
        keys = [_Key(str(k.kid), k.algorithm.value, k.state.value, k.can_open) for k in keyset]
        return where, keys
    assert isinstance(source, StaticSource)
    keys = []
    for key in _table_keys(source.table()):
        usable = key.verify_key is not None
        state = "usable" if usable else _RETIRED.get(key.refusal or Reason.KEY_DISABLED, "refused")
        keys.append(_Key(key.kid, key.algorithm.value, state, usable))
    return f"JWKS ({len(keys)} key{'s' if len(keys) != 1 else ''})", keys


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


@dataclass
class TokenReport:
    """The outcome of `triage_token`: `data` (the JSON form) and `text`."""

    verified: bool
    reason: Reason | None
    data: dict[str, Any]
    sections: list[Section]
    closing: list[Line]

    @property
    def text(self) -> str:
        return render(self.sections, self.closing)


def triage_token(
    token: str,
    trusted: TrustedIssuers,
    tenant: str,
    *,
    now: datetime | None = None,
    leeway: timedelta | None = None,
) -> TokenReport:
    """Explain why `token` does or does not verify for `tenant`.

    Args:
        token: the JWS compact token as captured.
        trusted: the trust configuration (e.g. from `load_trust_file`).
        tenant: whose verifier decides.
        now: the time to judge against (default: now); pass the failure's time.
        leeway: replaces the tenant's configured leeway.

    Raises:
        ConfigurationError: `tenant` is not in `trusted`.
    """
    verifier = trusted.get(tenant)
    if verifier is None:
        raise ConfigurationError(f"the trust configuration has no tenant {tenant!r}")
    view = _view(verifier)
    now = now if now is not None else SystemClock().now()
    leeway = leeway if leeway is not None else view.leeway
    return _Triage(token.strip(), trusted, tenant, view, now, leeway).run()


class _Triage:
    def __init__(
        self,
        token: str,
        trusted: TrustedIssuers,
        tenant: str,
        view: _View,
        now: datetime,
        leeway: timedelta,
    ) -> None:
        self.token, self.trusted, self.tenant, self.view = token, trusted, tenant, view
        self.now, self.leeway = now, leeway
        self.sections: list[Section] = []
        self.data: dict[str, Any] = {"tenant": tenant}

    def run(self) -> TokenReport:
        header, payload = self._parts()
        key = self._trust_and_key(header)
        self._canonical(header, payload)
        claims = payload.value if payload is not None and isinstance(payload.value, dict) else {}
        times = self._times(claims)
        reason = self._verdict()
        skew = skew_of(reason and reason.value, times, self.now, self.leeway)
        elsewhere = self._other_tenant(reason)
        diagnosis = _diagnose(self, reason, header, payload, key, claims, skew, elsewhere)
        verdict = "VERIFIED" if reason is None else f"NOT VERIFIED (reason: {reason.value})"
        self.data["token"]["unverified"] = reason is not None
        self.data.update(
            verified=reason is None,
            reason=None if reason is None else reason.value,
            clock_skew=None if skew is None else skew.to_json(),
            signed_for_tenant=elsewhere,
            diagnosis=diagnosis,
        )
        closing = [Line("verdict", verdict)]
        closing += [Line("diagnosis" if i == 0 else "", d) for i, d in enumerate(diagnosis)]
        return TokenReport(reason is None, reason, self.data, self.sections, closing)

    def _parts(self) -> tuple[_Part | None, _Part | None]:
        section = Section("token (UNVERIFIED until the verdict below)")
        self.sections.append(section)
        token = self.token
        if len(token) > _MAX_TRIAGE_CHARS or not token.isascii() or token.count(".") != 2:
            why = (
                f"longer than {_MAX_TRIAGE_CHARS} characters"
                if len(token) > _MAX_TRIAGE_CHARS
                else "not ASCII"
                if not token.isascii()
                else f"{token.count('.') + 1} parts; a JWS compact token has 3 (a JWE has 5)"
            )
            section.add("token", why, "FAIL")
            self.data["token"] = {"problem": why, "header": None, "claims": None}
            return None, None
        h64, p64, s64 = token.split(".")
        header, payload = _decode("header", h64), _decode("payload", p64)
        section.add("header", _shown(header))
        section.add("claims", _shown(payload))
        if b64u_decode(s64) is None:
            section.add("signature", "not strict base64url", "FAIL")
        max_bytes = self.view.max_bytes
        if len(token) > max_bytes:
            section.add("size", f"{len(token)} characters; this verifier refuses > {max_bytes}")
        self.data["token"] = {"header": header.value, "claims": payload.value, "unverified": True}
        return header, payload

    def _trust_and_key(self, header: _Part | None) -> dict[str, Any]:
        view = self.view
        where, keys = _keyset(view.source)
        trust = Section(f"trust (tenant {self.tenant})")
        trust.add("issuer", printable(view.issuer))
        trust.add(
            "audience", printable(view.audience) if view.audience else "none (tokens with aud fail)"
        )
        trust.add("keyset", where)
        for k in keys:
            trust.add("", f"kid {printable(str(k.kid))}: {k.algorithm}, {k.state}")
        self.sections.append(trust)
        self.data["trust"] = {
            "issuer": view.issuer,
            "audience": view.audience,
            "leeway_seconds": view.leeway.total_seconds(),
            "max_age_seconds": None if view.max_age is None else view.max_age.total_seconds(),
            "required": list(view.required),
            "keyset": where,
            "keys": [k.__dict__ for k in keys],
        }
        section = Section("key")
        self.sections.append(section)
        h = header.value if header is not None and isinstance(header.value, dict) else None
        kid, alg = (h.get("kid"), h.get("alg")) if h is not None else (None, None)
        info: dict[str, Any] = {"kid": kid, "header_alg": alg, "found": False}
        self.data["key"] = info
        if h is None:
            section.add("kid", "no readable header", "FAIL")
            return info
        usable = [k for k in keys if k.usable]
        found: _Key | None = None
        if kid is None:
            if len(usable) == 1:
                found = usable[0]
                section.add("kid", f"absent; the keyset's only usable key is used ({found.kid})")
            else:
                section.add("kid", f"absent, and the keyset has {len(usable)} usable keys", "FAIL")
        elif not isinstance(kid, str):
            section.add("kid", f"not a string: {compact_json(kid, 80)}", "FAIL")
        else:
            found = next((k for k in keys if k.kid == kid), None)
            if found is None:
                section.add("kid", f"{printable(kid)} is NOT in this keyset", "FAIL")
            else:
                status = "ok" if found.usable else "FAIL"
                section.add(
                    "kid", f"{printable(kid)} found: {found.algorithm}, {found.state}", status
                )
        if found is not None:
            info.update(found=True, algorithm=found.algorithm, state=found.state)
            agree = alg == found.algorithm
            info["agrees"] = agree
            text = f"header {_alg(alg)}, key {found.algorithm}"
            section.add(
                "alg", text + (": agree" if agree else ": DISAGREE"), "ok" if agree else "FAIL"
            )
        elif alg is not None:
            section.add("alg", f"header {_alg(alg)} (no key to compare with)")
        for name in sorted(FORBIDDEN_HEADERS.intersection(h) | ({"crit"} & set(h))):
            section.add(
                "header", f"{name} present: refused (keys never come from the token)", "FAIL"
            )
        return info

    def _canonical(self, header: _Part | None, payload: _Part | None) -> None:
        section = Section("canonical JSON")
        self.data["canonical"] = {}
        for part in (header, payload):
            if part is not None:
                text, status = _canonical_line(part)
                section.add(part.name, text, status)
                self.data["canonical"][part.name] = part.to_json()
        if section.lines:
            self.sections.append(section)

    def _times(self, claims: dict[str, Any]) -> list[TimeClaim]:
        view = self.view
        title = f"time (now {iso(self.now)}, leeway {human_duration(self.leeway)})"
        section = Section(title)
        times = time_claims(claims, self.now, self.leeway, view.max_age, view.required)
        for t in times:
            section.add(t.name, t.text, t.status)
        self.sections.append(section)
        self.data["time"] = {
            "now": iso(self.now),
            "leeway_seconds": self.leeway.total_seconds(),
            "claims": [t.to_json() for t in times],
        }
        return times

    def _verdict(self) -> Reason | None:
        try:
            _verifier_at(self.view, self.now, self.leeway).verify(self.token)
        except VerificationError as e:
            return e.reason
        return None

    def _other_tenant(self, reason: Reason | None) -> str | None:
        """The other tenant whose keys the signature verifies under, if any."""
        if reason not in (Reason.UNKNOWN_KEY, Reason.SIGNATURE_INVALID, Reason.ALGORITHM_MISMATCH):
            return None
        for tenant in self.trusted.tenants:
            verifier = self.trusted.get(tenant)
            if tenant == self.tenant or verifier is None:
                continue
            try:
                verify_compact(self.token, verifier._source, max_bytes=self.view.max_bytes)
            except VerificationError:
                continue
            return tenant
        return None


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
