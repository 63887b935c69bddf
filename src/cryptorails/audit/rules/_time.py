"""Shared by the time and replay rules (CR04xx): wall clocks, the values this module
stores them in, and the names around a check that say it is about security. Timestamp
windows are in `_windows`.
"""

from __future__ import annotations

import ast
import re
import weakref

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import identifier

__all__ = [
    "SECURITY_PHRASES",
    "SECURITY_WORDS",
    "WALL_CLOCKS",
    "clock_candidate",
    "clock_reading",
    "exp_like",
    "own_nodes",
    "security_context",
    "stored_clock",
    "words_of",
]

WALL_CLOCKS = frozenset(
    {"time.time", "time.time_ns", "datetime.datetime.now", "datetime.datetime.utcnow",
     "datetime.datetime.today", "django.utils.timezone.now", "arrow.now", "arrow.utcnow",
     "pendulum.now"}
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


def own_nodes(ctx: FileContext, function: ast.AST) -> list[ast.AST]:
    """The nodes of a function's body in source order: nested functions, lambdas and
    classes are included, but nothing inside them (not even their decorators or
    defaults). Computed once per function."""
    key = ("own_nodes", function)
    found = ctx.cache.get(key)
    if found is None:
        parents = ctx.parents
        inside_nested: set[ast.AST] = set()
        out: list[ast.AST] = []
        # `scope_nodes` leaves out what nested scopes contain, but not what they evaluate
        # in this one (their decorators, defaults, bases); drop those by parent.
        for node in ctx.scope_nodes(function):
            if parents.get(node) in inside_nested:
                inside_nested.add(node)
                continue
            out.append(node)
            if isinstance(node, _NESTED):
                inside_nested.add(node)
        found = ctx.cache[key] = out
    return found  # type: ignore[return-value]


_CLOCK_CALLS = frozenset({"time", "time_ns", "now", "utcnow", "today"})
_CLOCKY: weakref.WeakKeyDictionary[FileContext, frozenset[str]] = weakref.WeakKeyDictionary()


def clock_candidate(ctx: FileContext, node: ast.AST) -> bool:
    """A cheap, syntactic test run before any data flow: can `node` involve a wall-clock
    reading — a call shaped like one (`time()`, `x.now()`), or a name, attribute, key or
    helper this module ever binds to one?"""
    names = _clocky_names(ctx)
    for inner in ctx.walk(node):
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
    # Each binding once: its name, whether it calls a clock-shaped function, and the
    # names and attributes it reads; the rounds below only intersect sets.
    prepared: list[tuple[str, bool, set[str | None]]] = []
    for raw, value in bindings:
        clock = False
        reads: set[str | None] = set()
        for inner in ctx.walk(value):
            if isinstance(inner, ast.Call) and _clock_shaped(inner):
                clock = True
                break
            if isinstance(inner, ast.Name | ast.Attribute):
                reads.add(identifier(inner))
        prepared.append((identifier(ast.Name(id=raw)) or raw, clock, reads))
    for _ in range(4):  # `now = time()`, `age = now - ts`, `delta = age.total_seconds()`
        grown = False
        for name, clock, reads in prepared:
            if name not in names and (clock or not reads.isdisjoint(names)):
                names.add(name)
                grown = True
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
    for node in ctx.walk(value):
        if isinstance(node, ast.Call) and ctx.call_name(node) in WALL_CLOCKS:
            return True
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            for assigned in ctx.assignments(node):
                if isinstance(assigned, ast.Call) and ctx.call_name(assigned) in WALL_CLOCKS:
                    return True
    return False


def security_context(ctx: FileContext, node: ast.AST, extra: list[ast.AST]) -> bool:
    """Whether the names in `node`, in `extra` nodes, or of the enclosing function or
    class are about authentication, sessions, lockouts or rate limits."""
    identifiers: set[str] = set()
    for root in (node, *extra):
        for inner in ctx.walk(root):
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
