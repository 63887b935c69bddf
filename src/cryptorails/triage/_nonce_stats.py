"""What one key's nonces say, for the nonce scan: the chance of a repeat and their shape.

It holds `chance_of_reuse` (the birthday bound for random nonces) and `_PerKey`, one
key's distinct nonces with the running statistics behind the checks that flag nonces
which are not random (a counter, a clock, a fixed prefix, an oversized XAES batch).
"""

from __future__ import annotations

import math

from cryptorails.aead._xaes import BATCH

__all__ = ["chance_of_reuse"]

# Structure checks need enough nonces that random ones cannot trip them (see `_PerKey`).
_MIN_FOR_SPAN = 4
_MIN_FOR_ORDER = 32


def chance_of_reuse(messages: int, nonce_bits: int) -> float:
    """The probability that `messages` uniformly random nonces repeat at least once.

    The birthday bound p = 1 - exp(-n(n-1) / 2^(b+1)). `expm1` keeps p exact when it is
    tiny (1 - exp(-x) rounds to 0 for x below about 1e-16), which is the interesting
    case: it is what makes "7 repeats where chance predicts 3e-17" visible.
    """
    if messages < 2:
        return 0.0
    try:
        x = math.ldexp(float(messages * (messages - 1)), -(nonce_bits + 1))
    except OverflowError:
        return 1.0
    return -math.expm1(-x)


class _PerKey:
    """One key's nonces (first location and fingerprint of each) and running statistics.

    Structure checks, chosen so that random nonces practically never trip them:

    * span: all nonces, read as big- or little-endian integers, lie within a window of
      2^-32 of the nonce space. For n uniform values that has probability below
      n * 2^(-32 (n-1)), under 2^-90 from 4 nonces on.
    * order: at least 95% of consecutive nonces (input order) go up. For random values
      the number of ascents is Eulerian-distributed with mean (n-1)/2; from 32 nonces on
      the chance of 95% ascents is below 1e-25.

    XAES-256-GCM: the sealer draws the first 12 nonce bytes once per batch of at most
    `BATCH` messages and the last 12 fresh for each message (aead/_xaes.py). So only the
    last 12 must look random, and the chance of a repeat is summed over batch prefixes.
    """

    __slots__ = (
        *("algorithm", "asc_be", "asc_le", "batches", "be_hi", "be_lo", "label", "last_be"),
        *("last_le", "le_hi", "le_lo", "records", "seen", "size", "skip"),
    )

    def __init__(self, label: str, algorithm: str | None, size: int) -> None:
        self.label = label
        self.algorithm = algorithm
        self.size = size
        self.skip = 12 if algorithm == "XAES-256-GCM" and size == 24 else 0
        # nonce -> first location and fingerprint, packed into one int for line and row
        # numbers (location << 64 | fingerprint): one small object per distinct nonce.
        # cryptorails: ignore[CR0402] offline count over scanned data, not a replay cache
        self.seen: dict[bytes, int | tuple[str, int]] = {}
        self.batches: dict[bytes, int] = {}
        self.records = 0
        top = 1 << (8 * (size - self.skip))
        self.be_lo = self.le_lo = top
        self.be_hi = self.le_hi = self.last_be = self.last_le = -1
        self.asc_be = self.asc_le = 0

    def observe(self, nonce: bytes, new_message: bool) -> None:
        self.records += 1
        skip = self.skip
        if skip and new_message:
            prefix = nonce[:skip]
            self.batches[prefix] = self.batches.get(prefix, 0) + 1
        tail = nonce[skip:] if skip else nonce
        be, le = int.from_bytes(tail, "big"), int.from_bytes(tail, "little")
        if be < self.be_lo:
            self.be_lo = be
        if be > self.be_hi:
            self.be_hi = be
        if le < self.le_lo:
            self.le_lo = le
        if le > self.le_hi:
            self.le_hi = le
        if be > self.last_be >= 0:
            self.asc_be += 1
        if le > self.last_le >= 0:
            self.asc_le += 1
        self.last_be, self.last_le = be, le

    def chance(self, messages: int) -> float:
        if not self.skip:
            return chance_of_reuse(messages, 8 * self.size)
        bits = 8 * (self.size - self.skip) + 1
        return -math.expm1(-sum(math.ldexp(m * (m - 1), -bits) for m in self.batches.values()))

    def warnings(self, sealer: bool) -> tuple[str, ...]:
        out: list[str] = []
        bits = 8 * (self.size - self.skip)
        part = f"the last {self.size - self.skip} bytes of " if self.skip else ""
        n = len(self.seen)
        for order, width in (("big", self.be_hi - self.be_lo), ("little", self.le_hi - self.le_lo)):
            if n >= _MIN_FOR_SPAN and bits > 32 and width < 1 << (bits - 32):
                out.append(
                    f"{part}all {n} distinct nonces fall within 2^{width.bit_length()} of "
                    f"2^{bits} values (read {order}-endian): a counter, a timestamp or a "
                    "fixed prefix, not random"
                )
                break
        steps = self.records - 1
        ups, order = max((self.asc_be, "big"), (self.asc_le, "little"), key=lambda a: a[0])
        if steps + 1 >= _MIN_FOR_ORDER and ups * 20 >= steps * 19:
            out.append(
                f"{part}{ups} of {steps} consecutive nonces increase (read {order}-endian): a "
                "counter or a clock, which repeats after a restart, a fork or a restored snapshot"
            )
        largest = max(self.batches.values(), default=0)
        if sealer and largest > BATCH:
            out.append(
                f"one 12-byte nonce prefix serves {largest} messages; the cryptorails sealer "
                f"uses a prefix for at most {BATCH}: these blobs were sealed by other code"
            )
        return tuple(out)
