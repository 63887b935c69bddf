"""Canonical JSON: strict I-JSON parsing (RFC 7493) and RFC 8785 (JCS) serialization.

Sign and verify bytes produced by `dumps`; parse with `loads`, which refuses everything
two JSON parsers might read differently (duplicate names, lone surrogates, numbers beyond
a double, non-UTF-8 input). `is_canonical` says whether bytes are exactly what `dumps`
would produce for what they encode.
"""

from __future__ import annotations

from ._dumps import dumps
from ._errors import (
    CanonicalJSONError,
    DepthLimitError,
    DuplicateNameError,
    EncodingError,
    ForbiddenCodePointError,
    JSONSyntaxError,
    NumberRangeError,
    SizeLimitError,
    UnsupportedValueError,
)
from ._loads import loads

__all__ = [
    "CanonicalJSONError",
    "DepthLimitError",
    "DuplicateNameError",
    "EncodingError",
    "ForbiddenCodePointError",
    "JSONSyntaxError",
    "NumberRangeError",
    "SizeLimitError",
    "UnsupportedValueError",
    "dumps",
    "is_canonical",
    "loads",
]


def is_canonical(data: bytes) -> bool:
    """True iff `data` is strict I-JSON and exactly `dumps(loads(data))`. Never raises."""
    if not isinstance(data, bytes):
        return False
    try:
        return dumps(loads(data)) == data
    except CanonicalJSONError:
        return False
