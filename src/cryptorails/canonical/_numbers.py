"""Numbers: the I-JSON range rules and the ECMAScript form RFC 8785 requires.

RFC 8785 §3.2.2.3 serializes a number the way ECMAScript's `Number.prototype.toString`
does. Its digits are the shortest that round-trip to the same double, which is exactly
what Python's `repr(float)` computes, so only the layout (fixed or exponent notation,
exponent spelling, trailing ".0") is redone here; no digit generation happens in Python.
"""

from __future__ import annotations

import math

__all__ = ["MAX_SAFE_INTEGER", "es_float", "float_token_ok", "int_token_ok"]

# RFC 7493 §2.2: integers outside ±(2**53 - 1) may not round-trip through a double.
MAX_SAFE_INTEGER = 2**53 - 1
_SAFE_DIGITS = len(str(MAX_SAFE_INTEGER))


def es_float(value: float) -> str:
    """The ECMAScript ``String(value)`` of a finite double (RFC 8785 §3.2.2.3).

    Raises:
        ValueError: `value` is NaN or infinite.
    """
    if not math.isfinite(value):
        raise ValueError("NaN and Infinity have no JSON form")
    if value == 0:
        return "0"  # also -0.0 (ECMAScript prints "0")
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    if exponent:
        # d[.ddd]e±XX: one digit before the point.
        digits = (whole + fraction).rstrip("0")
        point = int(exponent) + 1
    elif whole != "0":
        digits = (whole + fraction).rstrip("0")
        point = len(whole)
    else:
        significant = fraction.lstrip("0")
        point = len(significant) - len(fraction)
        digits = significant.rstrip("0")
    return sign + _layout(digits, point)


def _layout(digits: str, point: int) -> str:
    """ECMA-262 Number::toString steps 6-10 for digits s (k of them) and point n."""
    k = len(digits)
    if k <= point <= 21:
        return digits + "0" * (point - k)
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    exponent = point - 1
    head = digits[0] if k == 1 else digits[0] + "." + digits[1:]
    return f"{head}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


def int_token_ok(token: str) -> bool:
    """Whether an integer literal (no fraction, no exponent) is within ±(2**53 - 1).

    The digit count is checked first, so a literal of any length costs linear time and
    never reaches `int()`'s digit limit.
    """
    digits = len(token) - (token[:1] == "-")
    return digits < _SAFE_DIGITS or (digits == _SAFE_DIGITS and abs(int(token)) <= MAX_SAFE_INTEGER)


def float_token_ok(token: str) -> bool:
    """Whether a literal with a fraction or exponent fits a double (no overflow).

    Underflow to zero is accepted (JSONTestSuite leaves it implementation-defined).
    `float()` parses in linear time however long the literal is.
    """
    return math.isfinite(float(token))
