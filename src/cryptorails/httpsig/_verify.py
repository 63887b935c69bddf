"""Verifying RFC 9421 signatures (§3.2) under a policy.

A signature that verifies is not yet acceptable: RFC 9421 lets a signer cover nothing
at all (Appendix B.2.1 covers no component and verifies). The `Policy` decides what
must be covered, and the verifier adds what the RFC leaves to applications: the key
comes from a trusted keyset by `keyid` only, its algorithm is the only one tried, the
creation time lies inside a window, a nonce is used once, and a covered
``Content-Digest`` matches the body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptorails.clock import Clock, SystemClock, Window
from cryptorails.errors import Reason, VerificationError
from cryptorails.httpsig._components import ComponentError, field_value, signature_base
from cryptorails.httpsig._digest import DigestError, verify_content_digest
from cryptorails.httpsig._keys import SignatureKey
from cryptorails.httpsig._message import HttpMessage
from cryptorails.httpsig._sf import InnerList, Item, SFError, parse_dictionary
from cryptorails.replay import ReplayCheck

__all__ = ["Policy", "VerifiedSignature", "Verifier", "unverified_keyids"]


def unverified_keyids(signature_input: str) -> frozenset[str]:
    """The ``keyid`` values a ``Signature-Input`` field names, before any check.

    For logging and diagnosis only: they are attacker-chosen text until a signature
    under that key verifies. Empty when the field does not parse.
    """
    try:
        members = parse_dictionary(signature_input)
    except SFError:
        return frozenset()
    return frozenset(
        value
        for _, member in members
        if isinstance(member, InnerList)
        for name, value in member.params
        if name == "keyid" and isinstance(value, str)
    )


MAX_FIELD_CHARS = 8192
MAX_SIGNATURES = 8
MAX_NONCE_CHARS = 256
_PARAM_TYPES: dict[str, type] = {
    "created": int,
    "expires": int,
    "nonce": str,
    "alg": str,
    "keyid": str,
    "tag": str,
}


@dataclass(frozen=True)
class Policy:
    """What an acceptable signature must cover and carry.

    Args:
        required: alternatives; a signature passes when it covers every component of at
            least one of them. The default asks for the method and the whole target:
            ``@method`` with ``@target-uri``, or with ``@authority``, ``@path`` and
            ``@query``.
        require_content_digest: when the message has a body, ``content-digest`` must
            be covered (and it is then checked against the body).
        require_created: the ``created`` parameter must be present.
        require_expires: the ``expires`` parameter must be present.
        max_components: a bound on the covered list.
    """

    required: tuple[frozenset[str], ...] = (
        frozenset({"@method", "@target-uri"}),
        frozenset({"@method", "@authority", "@path", "@query"}),
    )
    require_content_digest: bool = True
    require_created: bool = True
    require_expires: bool = False
    max_components: int = 32

    @classmethod
    def for_responses(cls) -> Policy:
        """The default for responses: ``@status`` (and the digest when there is a body)."""
        return cls(required=(frozenset({"@status"}),))


@dataclass(frozen=True)
class VerifiedSignature:
    """What a verified signature covered and said."""

    label: str
    keyid: str
    algorithm: str
    components: tuple[str, ...]
    created: datetime | None
    expires: datetime | None
    nonce: str | None
    tag: str | None


def _field(message: HttpMessage, name: str) -> str:
    # The same value the signature base covers (§2.1, obs-fold unfolded), so what is
    # parsed here is exactly what was signed.
    try:
        value = field_value(message, name)
    except ComponentError as e:
        raise VerificationError(e.reason) from None
    if len(value) > MAX_FIELD_CHARS:
        raise VerificationError(Reason.TOO_LARGE)
    return value


def _dictionary(message: HttpMessage, name: str) -> dict[str, Item | InnerList]:
    try:
        members = parse_dictionary(_field(message, name))
    except SFError:
        raise VerificationError(Reason.MALFORMED) from None
    if len(members) > MAX_SIGNATURES:
        raise VerificationError(Reason.TOO_LARGE)
    return dict(members)


class Verifier:
    """Verifies RFC 9421 signatures with keys from one trusted keyset.

    Args:
        keys: keyid -> `SignatureKey` (public key or HMAC secret, each with its one
            algorithm). A `keyid` outside this mapping fails; nothing else is searched.
        policy: what must be covered (requests by default; `Policy.for_responses()`).
        guard: a replay guard (`ReplayGuard` on a shared store); when given, every
            signature must carry a ``nonce``, accepted once per key. Give one in
            production: the window alone allows replays inside it.
        tolerance: how far ``created`` may lie from now, either way (or a `Window`).
        clock: the time source.
        namespace: the guard namespace for nonces.
    """

    def __init__(
        self,
        keys: Mapping[str, SignatureKey],
        *,
        policy: Policy | None = None,
        guard: ReplayCheck | None = None,
        tolerance: timedelta | Window = timedelta(minutes=5),
        clock: Clock | None = None,
        namespace: str = "httpsig",
    ) -> None:
        if not keys:
            raise ValueError("a Verifier needs at least one trusted key")
        for kid, key in keys.items():
            if not isinstance(kid, str) or not isinstance(key, SignatureKey):
                raise TypeError("keys maps keyid strings to SignatureKey objects")
        self._keys = dict(keys)
        self._policy = policy if policy is not None else Policy()
        self._guard = guard
        self._window = tolerance if isinstance(tolerance, Window) else Window(tolerance)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._namespace = namespace

    def key_algorithm(self, keyid: str) -> str | None:
        """The algorithm name of trusted key `keyid`, or None if it is not trusted."""
        key = self._keys.get(keyid)
        return None if key is None else key.algorithm.value

    def verify(self, message: HttpMessage, label: str | None = None) -> VerifiedSignature:
        """Verify one signature of `message` (the one named `label`, or the only one).

        Raises:
            VerificationError: any failure; `.reason` says which.
        """
        inputs = _dictionary(message, "signature-input")
        signatures = _dictionary(message, "signature")
        if label is None:
            if len(inputs) != 1:
                raise VerificationError(Reason.MALFORMED)  # which one to check must be explicit
            label = next(iter(inputs))
        unverified_input = inputs.get(label)
        unverified_signature = signatures.get(label)
        if unverified_input is None or unverified_signature is None:
            raise VerificationError(Reason.MISSING_HEADER)
        if (
            not isinstance(unverified_input, InnerList)
            or not isinstance(unverified_signature, Item)
            or not isinstance(unverified_signature.value, bytes)
            or unverified_signature.params
        ):
            raise VerificationError(Reason.MALFORMED)
        params = self._params(unverified_input)
        components = unverified_input.items
        if len(components) > self._policy.max_components:
            raise VerificationError(Reason.TOO_LARGE)
        keyid = params.get("keyid")
        if not isinstance(keyid, str):
            raise VerificationError(Reason.MISSING_PARAMETER)
        key = self._keys.get(keyid)
        if key is None:
            raise VerificationError(Reason.UNKNOWN_KEY)
        alg = params.get("alg")
        if alg is not None and alg != key.algorithm.value:
            raise VerificationError(Reason.ALGORITHM_MISMATCH)
        try:
            base = signature_base(message, unverified_input)
        except ComponentError as e:
            raise VerificationError(e.reason) from None
        if not key.verify(unverified_signature.value, base):
            raise VerificationError(Reason.SIGNATURE_INVALID)
        # Authenticated from here on: the parameters and covered list are the signer's.
        covered = tuple(str(c.value) for c in components)
        self._check_policy(message, set(covered))
        created, expires = self._check_time(params)
        nonce = params.get("nonce")
        if self._guard is not None:
            if not isinstance(nonce, str):
                raise VerificationError(Reason.MISSING_PARAMETER)
            # keyid and nonce joined unambiguously (length prefix): nonces are per key.
            message_id = hashlib.sha256(f"{len(keyid)}:{keyid}:{nonce}".encode()).hexdigest()
            self._guard.check(self._namespace, message_id, created or self._clock.now())
        tag = params.get("tag")
        return VerifiedSignature(
            label=label,
            keyid=keyid,
            algorithm=key.algorithm.value,
            components=covered,
            created=created,
            expires=expires,
            nonce=nonce if isinstance(nonce, str) else None,
            tag=tag if isinstance(tag, str) else None,
        )

    @staticmethod
    def _params(inner: InnerList) -> dict[str, int | str]:
        out: dict[str, int | str] = {}
        for name, value in inner.params:
            expected = _PARAM_TYPES.get(name)
            # bool is an int subclass; a ?1 must not pass as created=1.
            if expected is None or isinstance(value, bool) or not isinstance(value, expected):
                raise VerificationError(Reason.MALFORMED)
            assert isinstance(value, int | str)
            out[name] = value
        nonce = out.get("nonce")
        if isinstance(nonce, str) and not 0 < len(nonce) <= MAX_NONCE_CHARS:
            raise VerificationError(Reason.MALFORMED)
        return out

    def _check_policy(self, message: HttpMessage, covered: set[str]) -> None:
        policy = self._policy
        if policy.required and not any(r <= covered for r in policy.required):
            raise VerificationError(Reason.COMPONENT_NOT_COVERED)
        has_body = bool(message.body)
        if has_body and policy.require_content_digest and "content-digest" not in covered:
            raise VerificationError(Reason.COMPONENT_NOT_COVERED)
        if "content-digest" in covered:
            try:
                verify_content_digest(_field(message, "content-digest"), message.body)
            except DigestError as e:
                raise VerificationError(
                    Reason.DIGEST_MISMATCH if e.mismatch else Reason.MALFORMED
                ) from None

    def _check_time(self, params: dict[str, int | str]) -> tuple[datetime | None, datetime | None]:
        now = self._clock.now()
        created = expires = None
        raw_created, raw_expires = params.get("created"), params.get("expires")
        try:
            if isinstance(raw_created, int):
                created = datetime.fromtimestamp(raw_created, UTC)
            if isinstance(raw_expires, int):
                expires = datetime.fromtimestamp(raw_expires, UTC)
        except (OverflowError, OSError, ValueError):
            raise VerificationError(Reason.MALFORMED) from None
        if created is None and self._policy.require_created:
            raise VerificationError(Reason.MISSING_PARAMETER)
        if expires is None and self._policy.require_expires:
            raise VerificationError(Reason.MISSING_PARAMETER)
        if created is not None and expires is not None and expires < created:
            raise VerificationError(Reason.MALFORMED)
        if created is not None:
            self._window.check(created, now)
        if expires is not None and now > expires:
            raise VerificationError(Reason.EXPIRED)
        return created, expires
