"""Standard Webhooks (standardwebhooks.com): `v1` (HMAC-SHA256) and `v1a` (Ed25519).

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``. The
`webhook-signature` header is a space-separated list of ``version,base64`` entries so a
sender can sign with a new and an old key during rotation; a verifier holds one set of
trusted keys, and a message passes when any entry verifies under any key of that set.
There is no second "try the old secret" path: the set is the whole trust decision.

Replays and retries are two different things, handled at two levels:

* The replay guard deduplicates the *signed message*: ``{webhook-id}.{webhook-timestamp}``.
  A captured message repeats both, so it is refused (and its signed timestamp stops
  passing the window soon after). A sender's retry keeps the id but carries a new
  timestamp and a new signature (Standard Webhooks, "Retry schedule"), so it passes.
  Were the guard keyed by the id alone, it would claim the id while verifying, before
  the handler runs, and after a handler failure every retry would be refused and the
  event lost.
* Processing an event once is the application's job: deduplicate on ``webhook-id``
  where the work is done and only once it succeeded, e.g. with
  `cryptorails.Idempotency` keyed by the webhook-id, whose record is released when the
  handler raises so the next retry runs it again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from math import floor

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from cryptorails.clock import Clock, require_aware
from cryptorails.errors import Reason, VerificationError
from cryptorails.replay import ReplayCheck
from cryptorails.secret import Secret
from cryptorails.webhooks._common import (
    MAX_SIGNATURES,
    MESSAGE_ID,
    TimeWindow,
    b64_decode,
    constant_time_match,
    get_header,
    parse_unix_seconds,
)

__all__ = ["WebhookSigner", "WebhookVerifier", "parse_signing_key", "parse_verifying_key"]

# Standard Webhooks, "Signature scheme": symmetric secrets are 24 to 64 random bytes.
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
_NAMESPACE = "standard-webhooks"
_VERSION = re.compile(r"v[0-9]+[a-z]?")

SigningKey = Secret | ed25519.Ed25519PrivateKey
VerifyingKey = Secret | ed25519.Ed25519PublicKey


def _decode_key_text(text: str, prefix: str) -> bytes:
    body = text[len(prefix) :]
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"a {prefix} key is base64 after the prefix") from None


def _hmac_secret(raw: bytes) -> Secret:
    if not MIN_SECRET_BYTES <= len(raw) <= MAX_SECRET_BYTES:
        raise ValueError(
            f"a Standard Webhooks secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"
        )
    return Secret(raw)


def _ed25519_private(raw: bytes) -> ed25519.Ed25519PrivateKey:
    # A whsk_ key is either the 32-byte seed or, as libsodium stores it, seed || public.
    if len(raw) not in (32, 64):
        raise ValueError("a whsk_ key is a 32-byte Ed25519 seed or 64-byte seed || public key")
    private = ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])
    if len(raw) == 64 and not hmac.compare_digest(
        raw[32:], private.public_key().public_bytes_raw()
    ):
        raise ValueError("the public half of this whsk_ key does not match its seed")
    return private


def parse_signing_key(key: str | SigningKey) -> SigningKey:
    """A signing key from ``whsec_...`` (HMAC) or ``whsk_...`` (Ed25519) text, a `Secret`
    (raw HMAC key bytes) or an Ed25519 private key.

    Raises:
        TypeError: another type. ValueError: bad prefix, base64 or length.
    """
    if isinstance(key, Secret):
        return _hmac_secret(key.reveal())
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if not isinstance(key, str):
        raise TypeError("a webhook signing key is a str, Secret or Ed25519PrivateKey")
    if key.startswith("whsec_"):
        return _hmac_secret(_decode_key_text(key, "whsec_"))
    if key.startswith("whsk_"):
        return _ed25519_private(_decode_key_text(key, "whsk_"))
    raise ValueError("a webhook key text starts with whsec_ or whsk_")


def parse_verifying_key(key: str | SigningKey | VerifyingKey) -> VerifyingKey:
    """A trusted verification key: ``whsec_...``, ``whpk_...``, ``whsk_...`` (its public
    half is used), a `Secret`, or an Ed25519 public or private key.

    Raises:
        TypeError: another type. ValueError: bad prefix, base64 or length.
    """
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, str) and key.startswith("whpk_"):
        raw = _decode_key_text(key, "whpk_")
        if len(raw) != 32:
            raise ValueError("a whpk_ key is a 32-byte Ed25519 public key")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    if not isinstance(key, str | Secret | ed25519.Ed25519PrivateKey):
        raise TypeError("a webhook verifying key is a str, Secret or Ed25519 key")
    signing = parse_signing_key(key)
    if isinstance(signing, ed25519.Ed25519PrivateKey):
        return signing.public_key()
    return signing


def _check_message_id(msg_id: str) -> bool:
    # The id is part of the signed content before a '.', so a '.' inside it would let the
    # same bytes be split into a different id and timestamp (the spec asks for ids
    # without '.').
    return MESSAGE_ID.fullmatch(msg_id) is not None and "." not in msg_id


def _signed_content(msg_id: str, timestamp: str, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode("ascii") + body


class WebhookSigner:
    """Signs Standard Webhooks messages with one or more keys (several during rotation).

    Args:
        secret: one key, or a sequence of keys whose signatures all go into the header
            (the new key and the old one while receivers switch over).
    """

    def __init__(self, secret: str | SigningKey | Sequence[str | SigningKey]) -> None:
        items = (
            [secret]
            if isinstance(secret, str | Secret | ed25519.Ed25519PrivateKey)
            else list(secret)
        )
        if not items:
            raise ValueError("a WebhookSigner needs at least one key")
        if len(items) > MAX_SIGNATURES:
            raise ValueError(f"at most {MAX_SIGNATURES} keys")
        self._keys = [parse_signing_key(item) for item in items]

    def sign(self, msg_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
        """The three headers for `body`: ``webhook-id``, ``webhook-timestamp`` and
        ``webhook-signature``.

        Args:
            msg_id: a unique id, stable across retries of one delivery (visible ASCII,
                no '.', at most 256 characters).
            timestamp: the time of this attempt, timezone-aware.
            body: the exact bytes sent.

        Raises:
            TypeError: an argument of the wrong type, or a naive `timestamp`.
            ValueError: `msg_id` is not 1-256 visible ASCII characters without '.'.
        """
        if not isinstance(msg_id, str):
            raise TypeError(f"msg_id is a str, not {type(msg_id).__name__}")
        require_aware("timestamp", timestamp)
        if not isinstance(body, bytes):
            raise TypeError(f"body is bytes, not {type(body).__name__}")
        if not _check_message_id(msg_id):
            raise ValueError("msg_id is 1-256 visible ASCII characters without '.'")
        seconds = str(floor(timestamp.astimezone(UTC).timestamp()))
        content = _signed_content(msg_id, seconds, body)
        entries = []
        for key in self._keys:
            if isinstance(key, Secret):
                tag = hmac.new(key.reveal(), content, hashlib.sha256).digest()
                entries.append("v1," + base64.b64encode(tag).decode("ascii"))
            else:
                entries.append("v1a," + base64.b64encode(key.sign(content)).decode("ascii"))
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": seconds,
            "webhook-signature": " ".join(entries),
        }


class WebhookVerifier:
    """Verifies Standard Webhooks messages against one set of trusted keys.

    Checks, in order: header presence and size, the signature (any entry under any
    trusted key), the timestamp against a symmetric window, then the signed message
    (``webhook-id`` with ``webhook-timestamp``) through the replay guard. In production
    always pass a `guard` (a `ReplayGuard` on a store shared by every instance): the
    window alone lets a captured message be replayed to every server behind a load
    balancer, and to one server, for the whole window.

    The guard refuses a replayed message, not a retried event: a retry (same id, new
    timestamp, new signature) passes, because the verifier runs before the handler and
    cannot know whether the first attempt was processed. Deduplicate processing on
    ``webhook-id`` in the application, after the handler succeeded, e.g. with
    `cryptorails.Idempotency` keyed by the webhook-id.

    Args:
        secrets: the trusted keys (``whsec_``/``whpk_``/``whsk_`` text, `Secret`,
            Ed25519 keys); one, or several during rotation.
        guard: deduplicates the signed ``webhook-id`` and ``webhook-timestamp`` pair
            (namespace ``standard-webhooks`` unless `namespace` is given).
        tolerance: how far the timestamp may be from now, either way.
        clock: the time source (tests pass a `FixedClock`).
    """

    def __init__(
        self,
        secrets: str | SigningKey | VerifyingKey | Sequence[str | SigningKey | VerifyingKey],
        guard: ReplayCheck | None = None,
        tolerance: timedelta = timedelta(minutes=5),
        clock: Clock | None = None,
        *,
        namespace: str = _NAMESPACE,
    ) -> None:
        single = str | Secret | ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey
        items = [secrets] if isinstance(secrets, single) else list(secrets)
        if not items:
            raise ValueError("a WebhookVerifier needs at least one trusted key")
        keys = [parse_verifying_key(item) for item in items]
        self._macs = [k for k in keys if isinstance(k, Secret)]
        self._publics = [k for k in keys if isinstance(k, ed25519.Ed25519PublicKey)]
        self._window = TimeWindow(tolerance, clock)
        self._guard = guard
        self._namespace = namespace

    def verify(self, headers: Mapping[str, str], body: bytes) -> bytes:
        """Verify a received message and return its body (the bytes to parse next).

        Raises:
            VerificationError: any failure; `.reason` says which (MISSING_HEADER,
                TOO_LARGE, MALFORMED, SIGNATURE_INVALID, STALE, FUTURE, REPLAY).
            TypeError: `headers` is not a mapping.
        """
        if not isinstance(body, bytes):
            raise VerificationError(Reason.WRONG_TYPE)
        msg_id = get_header(headers, "webhook-id")
        unverified_timestamp = get_header(headers, "webhook-timestamp")
        signature_header = get_header(headers, "webhook-signature")
        if not _check_message_id(msg_id):
            raise VerificationError(Reason.MALFORMED)
        timestamp = parse_unix_seconds(unverified_timestamp)
        v1, v1a = self._parse_signatures(signature_header)
        content = _signed_content(msg_id, unverified_timestamp, body)
        expected = [hmac.new(k.reveal(), content, hashlib.sha256).digest() for k in self._macs]
        valid = constant_time_match(expected, v1)
        for public in self._publics:
            for signature in v1a:
                try:
                    public.verify(signature, content)
                    valid = True
                except InvalidSignature:
                    pass
        if not valid:
            raise VerificationError(Reason.SIGNATURE_INVALID)
        self._window.check(timestamp)
        if self._guard is not None:
            # The signed message, not the id alone (see the module docstring): the id has
            # no '.' and the timestamp is digits, so the pair is unambiguous.
            self._guard.check(self._namespace, f"{msg_id}.{unverified_timestamp}", timestamp)
        return body

    @staticmethod
    def _parse_signatures(header: str) -> tuple[list[bytes], list[bytes]]:
        entries = header.split(" ")
        if len(entries) > MAX_SIGNATURES:
            raise VerificationError(Reason.TOO_LARGE)
        v1: list[bytes] = []
        v1a: list[bytes] = []
        for entry in entries:
            version, comma, encoded = entry.partition(",")
            if not comma or _VERSION.fullmatch(version) is None or not encoded:
                raise VerificationError(Reason.MALFORMED)
            if version == "v1":
                tag = b64_decode(encoded)
                if len(tag) != 32:
                    raise VerificationError(Reason.MALFORMED)
                v1.append(tag)
            elif version == "v1a":
                signature = b64_decode(encoded)
                if len(signature) != 64:
                    raise VerificationError(Reason.MALFORMED)
                v1a.append(signature)
            # Other versions are skipped: the spec lets senders add schemes a receiver
            # does not know yet, and an unknown entry can never make a message pass.
        return v1, v1a
