"""The fixed responses every adapter sends, and the stored form of an idempotent response.

Framework-free: the ASGI and Flask adapters both build their replies from these bytes, so
a refusal looks the same whichever check refused it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptorails.errors import ConfigurationError

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "STORED_HEADERS",
    "ErrorResponse",
    "StoredResponse",
    "fingerprint",
    "parse_idempotency_key",
]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ErrorResponse:
    """A small JSON error reply with fixed headers, in a fixed order."""

    status: int
    body: bytes

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        """Content-Type, Content-Length and Cache-Control, always in this order."""
        return (
            ("content-type", "application/json"),
            ("content-length", str(len(self.body))),
            ("cache-control", "no-store"),
        )


# Every verification failure, whatever its cause, is this one reply: a response that
# differed by cause (status, header, body, even length) would tell an attacker which
# check failed. The cause goes to the `verify_failed` log event only.
UNAUTHORIZED = ErrorResponse(401, b'{"error":"unauthorized"}')
PAYLOAD_TOO_LARGE = ErrorResponse(413, b'{"error":"payload_too_large"}')
# A store outage is reported only after a signature verified (the replay check runs
# last), so this reply says nothing to a sender without a valid signature.
UNAVAILABLE = ErrorResponse(503, b'{"error":"unavailable"}')
# IETF draft-ietf-httpapi-idempotency-key-header §2.7 (error scenarios).
KEY_MISSING = ErrorResponse(400, b'{"error":"idempotency_key_missing"}')
KEY_INVALID = ErrorResponse(400, b'{"error":"idempotency_key_invalid"}')
KEY_IN_FLIGHT = ErrorResponse(409, b'{"error":"idempotency_key_in_flight"}')
KEY_REUSED = ErrorResponse(422, b'{"error":"idempotency_key_reused"}')

# Response headers kept with an idempotent result and replayed on repeats. Everything
# else is dropped: Set-Cookie and other per-client state must not be handed to whoever
# presents the same key, and hop-by-hop or per-response fields (Date, Connection,
# Content-Length) are regenerated.
STORED_HEADERS = frozenset(
    {
        "cache-control",
        "content-language",
        "content-location",
        "content-type",
        "etag",
        "last-modified",
        "link",
        "location",
        "retry-after",
        "vary",
    }
)

# The draft defines the key as a Structured Field String (RFC 8941 §3.3.3); many clients
# send it bare, so both forms are accepted. Visible ASCII, bounded.
_BARE_KEY = re.compile(r"[!#-~]{1,255}")
_QUOTED_KEY = re.compile(r'"([ !#-\[\]-~]{1,255})"')


def parse_idempotency_key(values: Sequence[str]) -> str | None:
    """The key from the ``Idempotency-Key`` field lines, or None when absent.

    Raises:
        ValueError: more than one line, or a value that is not a bounded visible-ASCII
            token or quoted string.
    """
    if not values:
        return None
    if len(values) > 1:
        raise ValueError("more than one Idempotency-Key field")
    value = values[0].strip(" \t")
    quoted = _QUOTED_KEY.fullmatch(value)
    if quoted is not None:
        return quoted.group(1)
    if _BARE_KEY.fullmatch(value) is not None and '"' not in value:
        return value
    raise ValueError("malformed Idempotency-Key")


def scoped_key(principal: str, key: str) -> str:
    """The store key for `key` sent by `principal` (see `Verified.principal`): senders
    never share keys, so one cannot read or block another's stored responses."""
    return f"{len(principal)}:{principal}{key}"


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    """SHA-256 of the method, path and body, length-prefixed so no two requests share one
    encoding (``POST /a`` + ``b`` never equals ``POST /ab`` + ``""``)."""
    h = hashlib.sha256(b"cryptorails/v1/idempotency-request")
    for part in (method.encode("ascii"), path.encode("utf-8", "surrogateescape"), body):
        h.update(len(part).to_bytes(8, "big") + part)
    return h.digest()


# Stored form: version, status (2 bytes), header count (2 bytes), then each header as
# name length (2) + name + value length (4) + value, then the body.
_FORMAT = b"\x01"


@dataclass(frozen=True)
class StoredResponse:
    """An application's response as kept by `Idempotency.run`: status, headers, body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @classmethod
    def keep(
        cls,
        status: int,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        allowed: frozenset[str] = STORED_HEADERS,
    ) -> StoredResponse:
        """The response with only the `allowed` headers (names lowercased, order kept)."""
        kept = tuple((n.lower(), v) for n, v in headers if n.lower() in allowed)
        return cls(status, kept, body)

    def to_bytes(self) -> bytes:
        out = [_FORMAT, self.status.to_bytes(2, "big"), len(self.headers).to_bytes(2, "big")]
        for name, value in self.headers:
            n, v = name.encode("latin-1"), value.encode("latin-1")
            out += [len(n).to_bytes(2, "big"), n, len(v).to_bytes(4, "big"), v]
        out.append(self.body)
        return b"".join(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredResponse:
        """Decode `to_bytes` output.

        Raises:
            ConfigurationError: the stored record is not in this format.
        """
        try:
            if data[:1] != _FORMAT:
                raise ValueError("version")
            status = int.from_bytes(data[1:3], "big")
            count = int.from_bytes(data[3:5], "big")
            pos = 5
            headers = []
            for _ in range(count):
                n_len = int.from_bytes(data[pos : pos + 2], "big")
                name = data[pos + 2 : pos + 2 + n_len]
                pos += 2 + n_len
                v_len = int.from_bytes(data[pos : pos + 4], "big")
                value = data[pos + 4 : pos + 4 + v_len]
                pos += 4 + v_len
                if len(name) != n_len or len(value) != v_len:
                    raise ValueError("truncated")
                headers.append((name.decode("latin-1"), value.decode("latin-1")))
            if not 100 <= status <= 999:
                raise ValueError("status")
        except ValueError:
            raise ConfigurationError("the store holds a malformed idempotent response") from None
        return cls(status, tuple(headers), data[pos:])

    def header_list(self) -> list[tuple[str, str]]:
        """The stored headers followed by a recomputed Content-Length."""
        return [*self.headers, ("content-length", str(len(self.body)))]
