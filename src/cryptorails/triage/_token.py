"""`triage_token`: why a token does or does not verify for a tenant, check by check.

Operator tooling: it says exactly which check failed, so it never runs on the serving
path. The verdict is the library's own `TokenVerifier` (the tenant's, from the trust
file, at the given "now" and leeway); everything around it explains that verdict. Key
material is never shown: keys are described by kid, algorithm and state only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptorails.clock import SystemClock
from cryptorails.errors import ConfigurationError, Reason, VerificationError
from cryptorails.tokens import TokenVerifier, TrustedIssuers
from cryptorails.tokens._jws import FORBIDDEN_HEADERS, KeySource, StaticSource, verify_compact
from cryptorails.tokens._keytable import KeyringSource, KeyTable, TrustedKey
from cryptorails.tokens._signing import b64u_decode
from cryptorails.triage._report import (
    AtClock,
    Line,
    Report,
    Section,
    TimeClaim,
    compact_json,
    human_duration,
    iso,
    printable,
    skew_of,
    time_claims,
)
from cryptorails.triage._token_text import _alg, _canonical_line, _decode, _diagnose, _Part, _shown

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
class TokenReport(Report):
    """The outcome of `triage_token`: `data` (the JSON form) and `text`."""

    verified: bool
    reason: Reason | None


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
        return TokenReport(
            self.data, self.sections, closing, verified=reason is None, reason=reason
        )

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
