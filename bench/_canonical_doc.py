"""The deterministic "mixed" JSON document the canonical-JSON benchmark runs on.

Built from a fixed seed so every run (and every peer) sees the same value: a list of
records, each a nested object with ASCII and non-ASCII strings (quotes, backslashes,
control characters, emoji, CJK), integers, floats of every magnitude (moderate, integral,
tiny, huge, and spread over the whole double range), booleans and nulls.
"""

from __future__ import annotations

import json
import random
from typing import Any

__all__ = ["SEED", "mixed_document"]

SEED = 8785

_WORDS = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
)  # fmt: skip
_NON_ASCII = (
    "café", "naïve", "Straße", "Ελληνικά", "русский", "日本語", "中文", "한국어",
    "עברית", "العربية", "emoji 😀🎉", "math \U0001d538\U0001d539", "€100", "ﬁ ligature",
    "\u2028sep",
)  # fmt: skip
_SPECIAL = ('say "hi"', "back\\slash", "line\nbreak", "tab\there", "bell\x07", "nul\x00", "\x7f")


def _text(rng: random.Random) -> str:
    parts = [rng.choice(_WORDS) for _ in range(rng.randint(1, 6))]
    if rng.random() < 0.5:
        parts.append(rng.choice(_NON_ASCII))
    if rng.random() < 0.25:
        parts.append(rng.choice(_SPECIAL))
    rng.shuffle(parts)
    return " ".join(parts)


def _float(rng: random.Random) -> float:
    value = _any_float(rng)
    while 2.0**53 <= abs(value) < 1e21:
        # Integral doubles in this band print as integer literals beyond 2**53 - 1
        # (RFC 8785), which strict I-JSON parsing refuses: keep the document loadable.
        value = _any_float(rng)
    return value


def _any_float(rng: random.Random) -> float:
    kind = rng.randrange(6)
    if kind == 0:
        return round(rng.uniform(-1000, 1000), 2)  # prices, measurements
    if kind == 1:
        return rng.random()  # ratios
    if kind == 2:
        return float(rng.randint(-(10**6), 10**6))  # integral floats
    if kind == 3:
        return rng.uniform(1, 10) * 10.0 ** rng.randint(-12, -4)  # tiny
    if kind == 4:
        return rng.uniform(1, 10) * 10.0 ** rng.randint(15, 25)  # huge
    return rng.uniform(-10, 10) * 10.0 ** rng.randint(-300, 298)  # anywhere


def _record(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "id": i,
        "name": _text(rng),
        "active": rng.random() < 0.5,
        "deleted": None if rng.random() < 0.8 else False,
        "count": rng.randint(-(2**31), 2**31),
        "score": _float(rng),
        "measurements": [_float(rng) for _ in range(rng.randint(0, 8))],
        "tags": [rng.choice(_WORDS) for _ in range(rng.randint(0, 5))],
        "owner": {
            "display": _text(rng),
            "email": f"{rng.choice(_WORDS)}{rng.randint(1, 999)}@example.com",
            "quota": rng.randint(0, 2**50),
            "prefs": {
                rng.choice(_WORDS): rng.choice([True, False, None, 1, 0.5]) for _ in range(3)
            },
        },
        "history": [
            {
                "at": rng.randint(1_600_000_000, 1_800_000_000),
                "value": _float(rng),
                "note": _text(rng),
            }
            for _ in range(rng.randint(0, 3))
        ],
        "matrix": [[rng.randint(-100, 100) for _ in range(3)] for _ in range(rng.randint(0, 3))],
    }


def mixed_document(size: int = 5 * 1024 * 1024, seed: int = SEED) -> list[dict[str, Any]]:
    """A list of records whose compact JSON encoding is at least `size` bytes."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    total = 2
    while total < size:
        record = _record(rng, len(records))
        records.append(record)
        total += len(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()) + 1
    return records
