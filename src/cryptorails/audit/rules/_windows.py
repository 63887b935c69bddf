"""Timestamp windows (CR0401, CR0403, CR0405): comparisons read as signed sums.

A comparison is read as a sum of signed terms (`flatten`), each of them a clock reading,
a tolerance (a constant, a `timedelta`, a name like `TOLERANCE`) or some other value. A
*timestamp window* is a comparison with exactly one fresh clock reading and one other
value of opposite sign — `now - ts > 300`, `ts < now - 300`, `abs(now - ts) > skew` —
and which side of "now" it bounds follows from the sign of the tolerance.
"""

from __future__ import annotations

import ast
import weakref
from dataclasses import dataclass

from cryptorails.audit._context import NOT_CONSTANT, FileContext
from cryptorails.audit._vocab import identifier
from cryptorails.audit.rules._time import (
    clock_candidate,
    clock_reading,
    exp_like,
    stored_clock,
    words_of,
)

__all__ = ["Term", "Window", "first_windows", "flatten", "windows"]

_UNWRAP_CALLS = frozenset({"int", "float", "round", "math.floor", "math.ceil", "decimal.Decimal"})
_UNWRAP_METHODS = frozenset({"total_seconds", "timestamp"})
_TOLERANCE_WORDS = frozenset(
    {
        "tolerance", "window", "skew", "leeway", "age", "ttl", "seconds", "secs", "sec",
        "minutes", "mins", "threshold", "drift", "allowed", "delta", "margin", "grace",
        "validity", "lifetime", "timeout", "interval", "period", "duration", "limit",
        "max", "future", "past", "slack", "clock",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Term:
    node: ast.AST
    sign: int
    kind: str  # "clock", "tolerance" or "value"


def flatten(ctx: FileContext, expr: ast.AST, sign: int, depth: int = 0) -> tuple[list[Term], bool]:
    """`expr` as signed terms, and whether an `abs()` wrapped the clock arithmetic."""
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add | ast.Sub):
        left, a = flatten(ctx, expr.left, sign, depth)
        right, b = flatten(ctx, expr.right, -sign if isinstance(expr.op, ast.Sub) else sign, depth)
        return left + right, a or b
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub | ast.UAdd):
        return flatten(ctx, expr.operand, -sign if isinstance(expr.op, ast.USub) else sign, depth)
    if isinstance(expr, ast.Call) and len(expr.args) == 1 and not expr.keywords:
        name = ctx.call_name(expr)
        if name in ("abs", "math.fabs"):
            terms, _ = flatten(ctx, expr.args[0], sign, depth)
            return terms, True
        if name in _UNWRAP_CALLS:
            return flatten(ctx, expr.args[0], sign, depth)
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr in _UNWRAP_METHODS
        and not expr.args
    ):
        return flatten(ctx, expr.func.value, sign, depth)
    if isinstance(expr, ast.Name) and depth < 3 and ctx.parameter_of(expr) is None:
        assigned = [v for v in ctx.assignments(expr) if not isinstance(v, ast.AugAssign)]
        if len(assigned) == 1 and _is_arithmetic(ctx, assigned[0]):
            return flatten(ctx, assigned[0], sign, depth + 1)
    return [Term(expr, sign, _kind(ctx, expr))], False


def _is_arithmetic(ctx: FileContext, value: ast.AST) -> bool:
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add | ast.Sub):
        return True
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        return True
    if isinstance(value, ast.Call) and len(value.args) == 1:
        return ctx.call_name(value) in ("abs", "math.fabs", *_UNWRAP_CALLS)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        return value.func.attr in _UNWRAP_METHODS and _is_arithmetic(ctx, value.func.value)
    return False


def _kind(ctx: FileContext, expr: ast.AST) -> str:
    if isinstance(expr, ast.Constant | ast.BinOp) and _is_tolerance(ctx, expr):
        return "tolerance"
    # Before names: `self.window_start = time.time()` is a reading, whatever its name.
    if clock_reading(ctx, expr) is not None or stored_clock(ctx, expr):
        return "clock"
    if _is_tolerance(ctx, expr):
        return "tolerance"
    return "value"


def _is_tolerance(ctx: FileContext, expr: ast.AST) -> bool:
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, int | float) and not isinstance(expr.value, bool)
    if isinstance(expr, ast.BinOp):
        return _is_tolerance(ctx, expr.left) and _is_tolerance(ctx, expr.right)
    if isinstance(expr, ast.Call):
        name = ctx.call_name(expr) or ""
        return name.endswith("timedelta")
    if isinstance(expr, ast.Name | ast.Attribute):
        raw = expr.id if isinstance(expr, ast.Name) else expr.attr
        if raw.isupper() and len(raw) > 1:
            return True
        if words_of(identifier(expr)) & _TOLERANCE_WORDS:
            return True
        value = ctx.literal(expr)
        return value is not NOT_CONSTANT and isinstance(value, int | float)
    return False


def _zero(expr: ast.AST) -> bool:
    """``age < 0``: a zero bound is no tolerance (it rejects any future timestamp)."""
    return isinstance(expr, ast.Constant) and expr.value == 0


def _const_sign(expr: ast.AST) -> int:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int | float):
        return -1 if expr.value < 0 else 1
    return 1


@dataclass(frozen=True)
class Window:
    """One timestamp-window comparison: where, which value, and which side it bounds."""

    compare: ast.Compare
    value: ast.AST
    sides: frozenset[str]  # {"past"}, {"future"} or both


_WINDOWS: weakref.WeakKeyDictionary[FileContext, dict[ast.AST, list[Window]]] = (
    weakref.WeakKeyDictionary()
)


def first_windows(ctx: FileContext) -> dict[ast.AST, list[Window]]:
    """The timestamp windows of each function of the module, in source order (expiry
    and deadline comparisons excluded). Computed once per file for all time rules."""
    cached = _WINDOWS.get(ctx)
    if cached is not None:
        return cached
    found: dict[ast.AST, list[Window]] = {}
    for compare in ctx.by_type.get(ast.Compare, ()):
        assert isinstance(compare, ast.Compare)
        if not any(isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE) for op in compare.ops):
            continue
        function = ctx.enclosing_function(compare)
        if function is None or not clock_candidate(ctx, compare):
            continue
        window = windows(ctx, compare)
        if window is not None and not exp_like(identifier(window.value)):
            found.setdefault(function, []).append(window)
    _WINDOWS[ctx] = found
    return found


def windows(ctx: FileContext, compare: ast.Compare) -> Window | None:
    """The timestamp window `compare` checks, if it checks one."""
    sides: set[str] = set()
    value: ast.AST | None = None
    left = compare.left
    for op, right in zip(compare.ops, compare.comparators, strict=True):
        if isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE):
            found = _pair(ctx, left, right)
            if found is not None:
                value = found[0]
                sides |= found[1]
        left = right
    if value is None:
        return None
    return Window(compare, value, frozenset(sides))


def _pair(ctx: FileContext, left: ast.AST, right: ast.AST) -> tuple[ast.AST, set[str]] | None:
    a, abs_a = flatten(ctx, left, 1)
    b, abs_b = flatten(ctx, right, -1)
    terms = a + b
    clocks = [t for t in terms if t.kind == "clock"]
    values = [t for t in terms if t.kind == "value"]
    if len(clocks) != 1 or len(values) != 1 or clocks[0].sign != -values[0].sign:
        return None
    if abs_a or abs_b:
        return values[0].node, {"past", "future"}
    tolerances = [t for t in terms if t.kind == "tolerance" and not _zero(t.node)]
    total = sum(t.sign * _const_sign(t.node) for t in tolerances)
    has_tolerance = bool(tolerances)
    if has_tolerance and total == 0:
        return values[0].node, {"past", "future"}
    # L - R = s*(now - ts) + sum(c*k) (op) 0, so the threshold on now - ts is
    # -sum(c*k)/s: positive bounds the past, negative (or zero) the future.
    threshold_sign = -total * clocks[0].sign
    return values[0].node, {"past"} if threshold_sign > 0 else {"future"}
