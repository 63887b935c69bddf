"""Shared by the time and replay rules (CR04xx): wall clocks, timestamp windows, and what
a function does around them.

A comparison is read as a sum of signed terms (`flatten`), each of them a clock reading,
a tolerance (a constant, a `timedelta`, a name like `TOLERANCE`) or some other value. A
*timestamp window* is a comparison with exactly one fresh clock reading and one other
value of opposite sign — `now - ts > 300`, `ts < now - 300`, `abs(now - ts) > skew` —
and which side of "now" it bounds follows from the sign of the tolerance.
"""

from __future__ import annotations

import ast
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from cryptorails.audit._context import NOT_CONSTANT, FileContext
from cryptorails.audit._vocab import identifier

__all__ = [
    "SECURITY_PHRASES",
    "SECURITY_WORDS",
    "WALL_CLOCKS",
    "Term",
    "Window",
    "clock_candidate",
    "clock_reading",
    "exp_like",
    "first_windows",
    "flatten",
    "own_nodes",
    "security_context",
    "stored_clock",
    "windows",
    "words_of",
]

WALL_CLOCKS = frozenset(
    {"time.time", "time.time_ns", "datetime.datetime.now", "datetime.datetime.utcnow",
     "datetime.datetime.today", "django.utils.timezone.now", "arrow.now", "arrow.utcnow",
     "pendulum.now"}
)  # fmt: skip
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
_EXP_WORDS = frozenset(
    {
        "exp", "expires", "expire", "expiry", "expiration", "expired", "deadline", "until",
        "after", "valid", "validity", "end", "ends", "lock", "locked", "lockout", "last",
        "start", "started", "begin", "retry", "next", "renew", "refresh",
    }
)  # fmt: skip
_SPLIT = re.compile(r"[^a-z0-9]+")
_CLAIM_KEYS = frozenset({"exp", "iat", "nbf"})
# A duration is a security one when the names around it say so (a lockout, a session's
# idle time, an OTP's validity, a rate limit). Plain timing and cache ages are not.
SECURITY_WORDS = (
    "lockout", "lockouts", "login", "logins", "signin", "auth", "authenticate",
    "authentication", "authenticated", "session", "sessions", "token", "tokens", "otp",
    "totp", "mfa", "2fa", "twofa", "verification", "reset", "ban", "banned",
    "penalty", "password",
    "credential", "credentials", "nonce", "nonces", "replay", "challenge", "captcha",
    "magic", "passcode", "brute",
)  # fmt: skip
_SECURITY = frozenset(SECURITY_WORDS)
# Rate limiting protects logins and APIs, but a progress bar is throttled too: these
# words count only next to a client, user, request or API.
_RATE_WORDS = frozenset({"limiter", "throttle", "throttled", "cooldown"})
_RATE_SUBJECTS = frozenset(
    {"request", "requests", "client", "clients", "ip", "user", "users", "api", "hits", "calls",
     "caller", "remote", "addr"}
)  # fmt: skip
# Generic words that are about security only together: a failover's "failure" or a
# retry's "attempt" is not a lockout, a "failed login" or "locked out" user is.
SECURITY_PHRASES = (
    "locked_out", "lock_out", "failed_login", "login_attempt",
    "auth_attempt", "failed_auth", "auth_fail", "login_fail", "lock_until",
    "locked_until", "blocked_until", "banned_until",
)  # fmt: skip
_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_STORED: weakref.WeakKeyDictionary[FileContext, tuple[frozenset[str], frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


def words_of(name: str | None) -> set[str]:
    """The words of a snake_case identifier."""
    return {w for w in _SPLIT.split(name or "") if w}


def exp_like(name: str | None) -> bool:
    """Whether a name is an expiry, deadline or lock time rather than a timestamp."""
    return bool(words_of(name) & _EXP_WORDS)


def own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, without nested functions, lambdas and classes."""
    stack: list[ast.AST] = list(reversed(getattr(function, "body", [])))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _NESTED):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


_CLOCK_CALLS = frozenset({"time", "time_ns", "now", "utcnow", "today"})
_CLOCKY: weakref.WeakKeyDictionary[FileContext, frozenset[str]] = weakref.WeakKeyDictionary()


def clock_candidate(ctx: FileContext, node: ast.AST) -> bool:
    """A cheap, syntactic test run before any data flow: can `node` involve a wall-clock
    reading — a call shaped like one (`time()`, `x.now()`), or a name, attribute, key or
    helper this module ever binds to one?"""
    names = _clocky_names(ctx)
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call) and _clock_shaped(inner):
            return True
        if (
            isinstance(inner, ast.Name | ast.Attribute | ast.Subscript)
            and (identifier(inner) or "") in names
        ):
            return True
        if isinstance(inner, ast.Call) and (identifier(inner.func) or "") in names:
            return True
    return False


def _clock_shaped(call: ast.Call) -> bool:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    return name in _CLOCK_CALLS


def _clocky_names(ctx: FileContext) -> frozenset[str]:
    cached = _CLOCKY.get(ctx)
    if cached is not None:
        return cached
    if not any(_clock_shaped(c) for c in ctx.by_type.get(ast.Call, ()) if isinstance(c, ast.Call)):
        _CLOCKY[ctx] = frozenset()
        return frozenset()  # no clock is read in this file at all
    containers, keys = _stored_names(ctx)
    names: set[str] = {*containers, *keys}
    bindings: list[tuple[str, ast.AST]] = [
        (name, value)
        for scope in ctx.assigned.values()
        for name, values in scope.items()
        for value in values
    ]
    bindings += [
        (attr, value)
        for attrs in ctx.self_attrs.values()
        for attr, values in attrs.items()
        for value in values
    ]
    for ret in ctx.by_type.get(ast.Return, ()):
        function = ctx.enclosing_function(ret)
        value = getattr(ret, "value", None)
        if function is not None and value is not None:
            bindings.append((function.name, value))
    for call in ctx.by_type.get(ast.Call, ()):
        assert isinstance(call, ast.Call)
        bindings += [(k.arg, k.value) for k in call.keywords if k.arg]
    for _ in range(4):  # `now = time()`, `age = now - ts`, `delta = age.total_seconds()`
        grown = False
        for raw, value in bindings:
            name = identifier(ast.Name(id=raw)) or raw
            if name in names:
                continue
            for inner in ast.walk(value):
                if (isinstance(inner, ast.Call) and _clock_shaped(inner)) or (
                    isinstance(inner, ast.Name | ast.Attribute) and identifier(inner) in names
                ):
                    names.add(name)
                    grown = True
                    break
        if not grown:
            break
    result = frozenset(names)
    _CLOCKY[ctx] = result
    return result


def clock_reading(ctx: FileContext, expr: ast.AST) -> str | None:
    """The wall clock `expr`'s value comes from, if it comes from one."""
    for value in ctx.walk_values(expr):
        if isinstance(value, ast.Call):
            name = ctx.call_name(value)
            if name in WALL_CLOCKS:
                return name
    return None


def stored_clock(ctx: FileContext, expr: ast.AST) -> bool:
    """Whether `expr` reads a wall-clock reading this module stored in a container or an
    attribute (``attempts[user] = time.time()``, ``{"created": time.time()}``)."""
    containers, keys = _stored_names(ctx)
    if not containers and not keys:
        return False
    for node in ctx.walk_values(expr):
        if isinstance(node, ast.Subscript):
            key = identifier(node)
            if key in _CLAIM_KEYS:
                return False
            if key in keys or identifier(node.value) in containers:
                return True
        elif isinstance(node, ast.Attribute):
            if node.attr.lower() in keys or node.attr.lower() in containers:
                return True
        elif isinstance(node, ast.Name) and identifier(node) in containers:
            return True
    return False


def _stored_names(ctx: FileContext) -> tuple[frozenset[str], frozenset[str]]:
    """Containers that receive wall-clock readings, and the keys and attribute names
    they are stored under."""
    cached = _STORED.get(ctx)
    if cached is not None:
        return cached
    containers: set[str] = set()
    keys: set[str] = set()
    for node in (*ctx.by_type.get(ast.Assign, ()), *ctx.by_type.get(ast.AnnAssign, ())):
        value = getattr(node, "value", None)
        if value is None or not _has_clock_call(ctx, value):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Subscript):
                keys.add(identifier(target) or "")
                containers.add(identifier(target.value) or "")
            elif isinstance(target, ast.Attribute):
                keys.add(identifier(target) or "")
    for node in ctx.by_type.get(ast.Call, ()):
        assert isinstance(node, ast.Call)
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("append", "appendleft", "add")
            and any(_has_clock_call(ctx, a) for a in node.args)
        ):
            base = func.value
            if isinstance(base, ast.Subscript):
                base = base.value
            elif isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
                base = base.func.value  # `attempts.setdefault(user, []).append(now)`
            containers.add(identifier(base) or "")
        for keyword in node.keywords:
            if keyword.arg and _has_clock_call(ctx, keyword.value):
                keys.add(keyword.arg.lower())
    for node in ctx.by_type.get(ast.Dict, ()):
        assert isinstance(node, ast.Dict)
        for key, value in zip(node.keys, node.values, strict=True):
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and _has_clock_call(ctx, value)
            ):
                keys.add(key.value.lower())
    # A list of readings stored into another container: ``hits[ip] = window``.
    for _ in range(3):
        grown = False
        for node in ctx.by_type.get(ast.Assign, ()):
            assert isinstance(node, ast.Assign)
            if isinstance(node.value, ast.Name) and identifier(node.value) in containers:
                for target in node.targets:
                    if isinstance(target, ast.Subscript | ast.Attribute):
                        base = target.value if isinstance(target, ast.Subscript) else target
                        name = identifier(base)
                        if name and name not in containers:
                            containers.add(name)
                            grown = True
        if not grown:
            break
    result = (frozenset(containers - {""}), frozenset(keys - {"", *_CLAIM_KEYS}))
    _STORED[ctx] = result
    return result


def _has_clock_call(ctx: FileContext, value: ast.AST) -> bool:
    for node in ast.walk(value):
        if isinstance(node, ast.Call) and ctx.call_name(node) in WALL_CLOCKS:
            return True
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            for assigned in ctx.assignments(node):
                if isinstance(assigned, ast.Call) and ctx.call_name(assigned) in WALL_CLOCKS:
                    return True
    return False


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


def security_context(ctx: FileContext, node: ast.AST, extra: list[ast.AST]) -> bool:
    """Whether the names in `node`, in `extra` nodes, or of the enclosing function or
    class are about authentication, sessions, lockouts or rate limits."""
    identifiers: set[str] = set()
    for root in (node, *extra):
        for inner in ast.walk(root):
            identifiers.add(identifier(inner) or "")
    function = ctx.enclosing_function(node)
    if function is not None:
        identifiers.add(identifier(ast.Name(id=function.name)) or "")
        identifiers.update(identifier(a) or "" for a in function.args.args)
    cls = ctx.enclosing_class(node)
    if cls is not None:
        identifiers.add(identifier(ast.Name(id=cls.name)) or "")
    names = {w for i in identifiers for w in words_of(i)}
    if any("rate_limit" in i or "ratelimit" in i for i in identifiers):
        names.add("limiter")
    if names & _SECURITY or (names & _RATE_WORDS and names & _RATE_SUBJECTS):
        return True
    return any(p in i for i in identifiers for p in SECURITY_PHRASES)
