"""Record layouts for the nonce scan: where a record's key id and nonce sit.

It holds `Layout` (the sealed-blob header of ``cryptorails`` blobs, or a raw field list
such as ``skip:2,key:4,nonce:12,ct``) with its parser, and the splitting of one record's
first bytes into key id, algorithm and nonce. Nothing here is authenticated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptorails.aead import _format, read_header
from cryptorails.algorithms import Algorithm

__all__ = ["Layout"]

_TAG_SIZE = 16  # every cryptorails AEAD has 16-byte tags
_MAX_FIELD = 1 << 16
_MAX_SKIP = 1 << 30


@dataclass(frozen=True)
class Layout:
    """Where the key id and the nonce sit in a record.

    ``cryptorails`` (the default) reads the sealed-blob header: the key is (algorithm,
    kid), the nonce follows the header. A raw layout is a comma list of ``skip:N``,
    ``key:N`` (key-id bytes), ``nonce:N`` (exactly once) and ``ct`` (the rest; last);
    without ``key`` every record counts as one key.
    """

    spec: str
    fields: tuple[tuple[str, int], ...] = ()

    @property
    def cryptorails(self) -> bool:
        return not self.fields

    @property
    def has_key(self) -> bool:
        return self.cryptorails or any(kind == "key" for kind, _ in self.fields)

    @property
    def head_size(self) -> int:
        """Bytes at the start of a record that hold its key id and nonce."""
        if self.cryptorails:
            return _format.HEADER_SIZE + 24
        return sum(n for kind, n in self.fields if kind != "ct")

    @classmethod
    def parse(cls, spec: str) -> Layout:
        """Parse ``cryptorails`` or a raw field list such as ``skip:2,key:4,nonce:12,ct``.

        Raises:
            ValueError: with the exact problem (unknown field, size, order, repeats).
        """
        text = spec.strip()
        if text == "cryptorails":
            return cls("cryptorails")
        fields: list[tuple[str, int]] = []
        for i, raw in enumerate(text.split(",")):
            part = raw.strip()
            if fields and fields[-1][0] == "ct":
                raise ValueError("'ct' (the rest of the record) must be the last field")
            if part == "ct":
                fields.append(("ct", 0))
                continue
            m = re.fullmatch(r"(skip|key|nonce):([0-9]{1,10})", part)
            if m is None:
                raise ValueError(
                    f"layout field {i + 1} is {part!r}; expected skip:N, key:N, nonce:N or ct"
                )
            kind, size = m[1], int(m[2])
            limit = _MAX_SKIP if kind == "skip" else _MAX_FIELD
            if not (0 if kind == "skip" else 1) <= size <= limit:
                raise ValueError(f"{kind}:{size} is out of range (at most {limit} bytes)")
            if kind != "skip" and any(k == kind for k, _ in fields):
                raise ValueError(f"layout has more than one {kind!r} field")
            fields.append((kind, size))
        if not any(kind == "nonce" for kind, _ in fields):
            raise ValueError("layout has no 'nonce:N' field")
        return cls(",".join(k if k == "ct" else f"{k}:{n}" for k, n in fields), tuple(fields))

    def split(self, head: bytes, length: int) -> tuple[bytes, Algorithm | None, bytes] | str:
        """(key id bytes, algorithm, nonce) of a record, or why it does not fit.

        `head` is the record's first `head_size` bytes (or all of it, if shorter) and
        `length` the whole record's size. Nothing here is authenticated: a header only
        says where the nonce is.
        """
        if self.cryptorails:
            return _split_sealed(head, length)
        key, nonce, at = b"", b"", 0
        for kind, size in self.fields:
            if kind == "ct":
                return key, None, nonce
            if kind == "key":
                key = head[at : at + size]
            elif kind == "nonce":
                nonce = head[at : at + size]
            at += size
        if length != at:
            return f"{length} bytes where the layout describes exactly {at}"
        return key, None, nonce


def _split_sealed(head: bytes, length: int) -> tuple[bytes, Algorithm | None, bytes] | str:
    header = read_header(head)
    if header is None:
        return "shorter than a header"
    if header.version != _format.VERSION:
        return f"unknown version {header.version}"
    if header.algorithm is None:
        return f"unknown algorithm id {head[1]}"
    size = _format.nonce_size(header.algorithm)
    if length < _format.HEADER_SIZE + size + _TAG_SIZE:
        return f"{length} bytes: too short for a {header.algorithm.value} blob"
    return head[: _format.HEADER_SIZE], header.algorithm, header.nonce
