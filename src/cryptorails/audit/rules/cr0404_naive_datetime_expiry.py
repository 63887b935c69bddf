"""CR0404: an expiry compared with a naive datetime."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import identifier
from cryptorails.audit.rules._prefilter import EXPIRY, SECURITY, group
from cryptorails.audit.rules._time import security_context, words_of

_ALWAYS_NAIVE = {
    "datetime.datetime.utcnow": "datetime.utcnow()",
    "datetime.datetime.utcfromtimestamp": "datetime.utcfromtimestamp()",
}
# Naive unless given a tz: (positional index of tz, display name).
_NAIVE_WITHOUT_TZ = {
    "datetime.datetime.now": (0, "datetime.now() without tz"),
    "datetime.datetime.today": (None, "datetime.today()"),
    "datetime.datetime.fromtimestamp": (1, "datetime.fromtimestamp() without tz"),
}
_EXPIRY_WORDS = frozenset(
    {
        "exp", "expires", "expire", "expiry", "expiration", "expiring", "expired", "nbf",
    }
)  # fmt: skip
# `until` and `deadline` are also schedules and retries: they need security names around.
_WEAK_EXPIRY_WORDS = frozenset({"until", "deadline", "valid"})
_EXPIRY_PHRASES = (
    "not_after",
    "not_before",
    "valid_after",
    "valid_before",
    "valid_to",
    "valid_from",
)
_DURATION_WORDS = frozenset({"ttl", "lifetime", "validity", "age", "timeout", "window", "max"})
_MAX_DEPTH = 4


@rule(
    code="CR0404",
    name="naive-datetime-expiry",
    case=4,
    severity=Severity.MEDIUM,
    cwe=613,
    nodes=(ast.Compare,),
    # A naive `datetime` constructor is called (or bound and called): `_ALWAYS_NAIVE`,
    # `_NAIVE_WITHOUT_TZ`.
    requires=[
        ["now", "today", "fromtimestamp"],
        ["now(", ".now", "now as", "utcnow", "today(", ".today", "today as", "fromtimestamp"],
        # `_expiry` with `_EXPIRY_WORDS`, or another expiry shape in `security_context`.
        group(EXPIRY, SECURITY),
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds expiry checks that compare naive (time-zone-less) datetimes.

    ## What it does
    Reports a comparison with an expiry, `exp`, `expires_at`, `valid_until`,
    `not_after` or `nbf` value (or an age compared with a `timedelta` in
    token/session/reset code) where one side is a naive datetime: `datetime.utcnow()`,
    `datetime.now()` or `datetime.fromtimestamp(x)` without a `tz`,
    `datetime.utcfromtimestamp(x)`, `datetime.today()`, or `datetime.utcnow().timestamp()`.

    ## Why is this bad?
    A naive datetime carries no zone, so whether it means UTC or local time is a
    convention the code cannot check. `datetime.utcfromtimestamp(exp)` compared with
    `datetime.now()` is off by the server's UTC offset (a token valid for hours longer,
    or rejected early, depending on where it runs), `utcnow().timestamp()` is read as
    local time, and DST transitions shift local values by an hour twice a year. Mixing a
    naive value with an aware one raises `TypeError` at the worst moment.

    ## Example
    ```python
    if datetime.utcfromtimestamp(claims["exp"]) < datetime.now():
        raise Expired()
    ```

    ## Use instead
    Use aware UTC datetimes everywhere: `datetime.now(timezone.utc)`,
    `datetime.fromtimestamp(exp, tz=timezone.utc)`, or take the time from a
    `cryptorails.Clock` (`SystemClock().now()` is aware, and `cryptorails.Window` and
    `cryptorails.ReplayGuard` refuse naive datetimes).

    ## References
    - CWE-613: Insufficient Session Expiration
    - Python documentation, "Aware and Naive Objects" (`datetime`); `utcnow` is
      deprecated since Python 3.12
    - RFC 7519 §4.1.4 (`exp` is seconds since the epoch, UTC)
    """
    assert isinstance(node, ast.Compare)
    if not any(isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE) for op in node.ops):
        return
    operands = [node.left, *node.comparators]
    reason = next((r for o in operands if (r := _naive(ctx, o, 0)) is not None), None)
    if reason is None:
        return
    if any(_expiry(ctx, o, _EXPIRY_WORDS) for o in operands) or (
        (
            any(_expiry(ctx, o, _WEAK_EXPIRY_WORDS) for o in operands)
            or any(_is_timedelta(ctx, o) for o in operands)
        )
        and security_context(ctx, node, [])
    ):
        yield ctx.report(
            node,
            f"expiry check with a naive datetime ({reason}); naive values are UTC or "
            "local time only by convention",
        )


def _naive(ctx: FileContext, expr: ast.AST, depth: int) -> str | None:
    """Why `expr` is a naive datetime (or a timestamp computed from one wrongly)."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add | ast.Sub):
        return _naive(ctx, expr.left, depth + 1) or _naive(ctx, expr.right, depth + 1)
    if isinstance(expr, ast.Name | ast.Attribute):
        if isinstance(expr, ast.Attribute) and not (
            isinstance(expr.value, ast.Name) and expr.value.id == "self"
        ):
            return None
        for value in ctx.values(expr)[:8]:
            if value is not expr:
                found = _naive(ctx, value, depth + 1)
                if found is not None:
                    return found
        return None
    if not isinstance(expr, ast.Call):
        return None
    name = ctx.call_name(expr)
    if name in _ALWAYS_NAIVE:
        return _ALWAYS_NAIVE[name]
    if name in _NAIVE_WITHOUT_TZ:
        position, label = _NAIVE_WITHOUT_TZ[name]
        if _has_tz(expr, position):
            return None
        return label
    func = expr.func
    if isinstance(func, ast.Attribute):
        if func.attr == "astimezone":
            return None
        if func.attr == "replace":
            if any(k.arg == "tzinfo" for k in expr.keywords):
                return None
            return _naive(ctx, func.value, depth + 1)
        if func.attr == "timestamp" and not expr.args:
            inner = _naive(ctx, func.value, depth + 1)
            # A naive local datetime converts correctly; a naive *UTC* one is read as
            # local time and is off by the UTC offset.
            if inner is not None and inner.startswith("datetime.utc"):
                return f"{inner}.timestamp() read as local time"
            return None
    function = ctx.local_function(expr)
    if function is not None:
        for value in ctx.values(expr)[:8]:
            if value is not expr:
                found = _naive(ctx, value, depth + 1)
                if found is not None:
                    return found
    return None


def _has_tz(call: ast.Call, position: int | None) -> bool:
    for keyword in call.keywords:
        if keyword.arg in ("tz", "tzinfo"):
            return not (isinstance(keyword.value, ast.Constant) and keyword.value.value is None)
    if position is not None and len(call.args) > position:
        arg = call.args[position]
        return not (isinstance(arg, ast.Constant) and arg.value is None)
    return False


def _expiry(ctx: FileContext, expr: ast.AST, vocabulary: frozenset[str]) -> bool:
    for root in (expr, *_assigned(ctx, expr)):
        for inner in ast.walk(root):
            name = identifier(inner)
            if name and (words_of(name) & vocabulary or any(p in name for p in _EXPIRY_PHRASES)):
                return True
    return False


def _assigned(ctx: FileContext, expr: ast.AST) -> list[ast.AST]:
    if isinstance(expr, ast.Name):
        return [v for v in ctx.assignments(expr) if not isinstance(v, ast.AugAssign)][:4]
    return []


def _is_timedelta(ctx: FileContext, expr: ast.AST) -> bool:
    """A duration in the comparison: a `timedelta(...)` or a name like `SESSION_TTL`,
    `max_age` (``created + timedelta(hours=1) < now`` as well as ``now - created > ttl``)."""
    for root in (expr, *_assigned(ctx, expr)):
        for inner in ast.walk(root):
            if isinstance(inner, ast.Call) and (ctx.call_name(inner) or "").endswith("timedelta"):
                return True
            if words_of(identifier(inner)) & _DURATION_WORDS:
                return True
    return False
