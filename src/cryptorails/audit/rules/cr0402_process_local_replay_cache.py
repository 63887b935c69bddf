"""CR0402: seen nonces or message ids remembered in process memory."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import identifier
from cryptorails.audit.rules._prefilter import SIG, group
from cryptorails.audit.rules._time import own_nodes, words_of

_CONTAINERS = frozenset(
    {"set", "dict", "list", "OrderedDict", "defaultdict", "deque", "TTLCache", "LRUCache",
     "TLRUCache", "LFUCache", "FIFOCache", "Cache", "ExpiringDict", "WeakValueDictionary",
     "SortedDict", "SimpleCache"}
)  # fmt: skip
_ADD_METHODS = frozenset(
    {"add", "append", "appendleft", "setdefault", "__setitem__", "update", "set"}
)
_MEMBER_METHODS = frozenset({"get", "__contains__", "count"})
# Container names that say "replay record" on their own (`seen` does not: it is also
# every graph walk's visited set, so the values must be message ids or nonces).
_CONTAINER_WORDS = frozenset(
    {"nonce", "nonces", "jti", "jtis", "replay", "replays", "dedup", "dedupe",
     "idempotency", "idempotent"}
)  # fmt: skip
_ELEMENT_WORDS = frozenset({"nonce", "jti", "idempotency", "signature", "sig", "replay"})
_ID_OWNERS = frozenset(
    {"msg", "message", "event", "webhook", "delivery", "request", "notification", "callback"}
)
# A container named for what it remembers having accepted (`used`, `processed`)...
_ACCEPTED_WORDS = frozenset(
    {"seen", "used", "processed", "consumed", "handled", "redeemed", "spent", "delivered",
     "received"}
)  # fmt: skip
# ...holding one-time credentials or messages is a replay record too.
_ONE_TIME_WORDS = frozenset(
    {"token", "tokens", "code", "codes", "otp", "otps", "deliveries", "delivery", "webhooks",
     "webhook"}
)  # fmt: skip
_SHARED_STORE_METHODS = frozenset({"setnx", "sadd", "set_if_not_exists", "check", "insert"})
_CACHE_DECORATORS = frozenset(
    {"functools.lru_cache", "functools.cache", "cachetools.cached", "cachetools.func.ttl_cache"}
)

# Prefilter: what `_replay_use` or `_cached_id_function` needs. A container or element
# word (`nonce`, `jti`, a signature, `message_id`...), a function named `seen`, or else an
# id looked up under its owner (``event["id"]``) or `_authenticates` with a one-time value.
_REPLAY_WORDS = group(
    "nonce", "jti", "replay", "dedup", "idempot", "seen(", "def seen_", "_seen_",
    (owner + end for owner in sorted(_ID_OWNERS) for end in ("_id", "id", "-id", "_key", "key")),
)  # fmt: skip
_REPLAY_GATE = group("nonce", "jti", "replay", "dedup", "idempot", "seen", "sig", _ID_OWNERS)
_ID_KEYS = ('["id', "['id")
_AUTHENTICATES = ("hmac", "signature", "verify", "decrypt", "jwt")
_ONE_TIME = ("token", "code", "otp", "deliver", "webhook")


@rule(
    code="CR0402",
    name="process-local-replay-cache",
    case=4,
    severity=Severity.MEDIUM,
    cwe=294,
    nodes=(ast.Module,),
    requires=[
        group(_REPLAY_GATE, _ID_KEYS, _AUTHENTICATES),
        group(_REPLAY_WORDS, SIG, _ID_KEYS, _AUTHENTICATES),
        group(_REPLAY_WORDS, SIG, _ID_KEYS, _ONE_TIME),
        group(_REPLAY_WORDS, SIG, _ID_OWNERS, _AUTHENTICATES),
        group(_REPLAY_WORDS, SIG, _ID_OWNERS, _ONE_TIME),
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds replay and idempotency records kept in a process's memory.

    ## What it does
    Reports a module-level or long-lived (class or instance attribute) `set`, `dict`,
    `OrderedDict`, `deque` or `cachetools.TTLCache` that a function both checks
    (`nonce in SEEN`, `.get(msg_id)`) and adds to (`SEEN.add(nonce)`,
    `CACHE[event_id] = ...`) — in one function or in two — when the container is named
    for nonces, `jti`s, replays or idempotency, or the values are nonces, `jti`s,
    message, event, webhook or delivery ids, idempotency keys or signatures; and
    functions cached with `functools.lru_cache` named for remembering them. A visited
    set keyed by `id(obj)`, a set of user ids and a local set in front of a shared store
    (`redis.set(..., nx=True)`) are not reported.

    ## Why is this bad?
    Each worker process and each server has its own copy, so a replayed message that
    reaches another worker or another instance behind the load balancer is accepted
    again; every deploy or restart empties it, and a full LRU silently forgets the
    oldest entries while their timestamps are still inside the window.

    ## Example
    ```python
    SEEN_NONCES = set()

    def verify(nonce, ts, sig):
        if nonce in SEEN_NONCES:
            raise PermissionError("replay")
        SEEN_NONCES.add(nonce)
    ```

    ## Use instead
    Keep the record in a store every instance shares and that survives restarts:
    `cryptorails.ReplayGuard(open_store("redis://..."), Window(...))` for signed
    messages and `cryptorails.Idempotency` for exactly-once request handling (SQLite,
    Redis or PostgreSQL through `cryptorails.open_store`).

    ## References
    - CWE-294: Authentication Bypass by Capture-replay
    - OWASP ASVS 4.0, V3.7 / V13.2 (replay protection for APIs)
    """
    assert isinstance(node, ast.Module)
    candidates = _candidates(ctx, node)
    if candidates:
        for name, (where, uses) in sorted(candidates.items(), key=lambda i: i[1][0].lineno):
            what = _replay_use(ctx, name, uses)
            if what is not None:
                yield ctx.report(
                    where,
                    f"`{name}` remembers {what} in process memory: other workers and "
                    "servers never see it, and a restart empties it",
                )
    for function in ctx.by_type.get(ast.FunctionDef, ()):
        assert isinstance(function, ast.FunctionDef)
        if _cached_id_function(ctx, function):
            yield ctx.report(
                function,
                f"`{function.name}` remembers ids in an in-process cache: other workers "
                "never see it, and eviction or a restart forgets them",
            )


Uses = list[tuple[ast.AST, ast.AST]]  # (use node, enclosing function)


def _candidates(ctx: FileContext, module: ast.Module) -> dict[str, tuple[ast.stmt, Uses]]:
    defined: dict[str, ast.stmt] = {}
    attributes: set[str] = set()
    for statement in module.body:
        for target in _container_targets(ctx, statement):
            if isinstance(target, ast.Name):
                defined.setdefault(target.id, statement)
    for cls in ctx.by_type.get(ast.ClassDef, ()):
        assert isinstance(cls, ast.ClassDef)
        for statement in cls.body:
            for target in _container_targets(ctx, statement):
                if isinstance(target, ast.Name) and target.id not in defined:
                    defined[target.id] = statement
                    attributes.add(target.id)
        for name, values in ctx.self_attrs.get(cls, {}).items():
            for value in values:
                if _is_container(ctx, value) and name not in defined:
                    assignment = ctx.parent(value)
                    if isinstance(assignment, ast.Assign | ast.AnnAssign):
                        defined[name] = assignment
                        attributes.add(name)
    if not defined:
        return {}
    uses: dict[str, Uses] = defaultdict(list)
    for use in ctx.by_type.get(ast.Name, ()):
        assert isinstance(use, ast.Name)
        if use.id in defined and use.id not in attributes:
            function = ctx.enclosing_function(use)
            if function is not None and not _shadowed(ctx, use, function):
                uses[use.id].append((use, function))
    for use in ctx.by_type.get(ast.Attribute, ()):
        assert isinstance(use, ast.Attribute)
        if use.attr in attributes:
            function = ctx.enclosing_function(use)
            if function is not None:
                uses[use.attr].append((use, function))
    return {name: (defined[name], uses[name]) for name in defined if uses.get(name)}


def _container_targets(ctx: FileContext, statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Assign) and _is_container(ctx, statement.value):
        return list(statement.targets)
    if (
        isinstance(statement, ast.AnnAssign)
        and statement.value is not None
        and _is_container(ctx, statement.value)
    ):
        return [statement.target]
    return []


def _is_container(ctx: FileContext, value: ast.AST) -> bool:
    if isinstance(value, ast.Set | ast.Dict | ast.List):
        return True
    if isinstance(value, ast.Call):
        name = ctx.call_name(value) or ""
        return name.rsplit(".", 1)[-1] in _CONTAINERS
    return False


def _shadowed(ctx: FileContext, use: ast.Name, function: ast.AST) -> bool:
    if use.id in ctx.globals_declared.get(function, set()):
        return False
    return use.id in ctx.assigned.get(function, {})


def _replay_use(ctx: FileContext, name: str, uses: Uses) -> str | None:
    """What the container remembers, when one function both checks and adds to it."""
    added: dict[ast.AST, list[ast.AST]] = defaultdict(list)
    checked: dict[ast.AST, list[ast.AST]] = defaultdict(list)
    for use, function in uses:
        parent = ctx.parent(use)
        grand = ctx.parent(parent) if parent is not None else None
        if isinstance(parent, ast.Attribute) and isinstance(grand, ast.Call):
            if grand.func is parent and grand.args:
                if parent.attr in _ADD_METHODS:
                    added[function].append(grand.args[0])
                elif parent.attr in _MEMBER_METHODS:
                    checked[function].append(grand.args[0])
        elif isinstance(parent, ast.Subscript) and parent.value is use:
            if isinstance(parent.ctx, ast.Store) or (
                isinstance(grand, ast.Attribute) and grand.attr in _ADD_METHODS
            ):
                added[function].append(parent.slice)
        elif (
            isinstance(parent, ast.Compare)
            and use in parent.comparators
            and any(isinstance(op, ast.In | ast.NotIn) for op in parent.ops)
        ):
            checked[function].append(parent.left)
    # Checked in one handler and recorded in a helper is as per-process as doing both in
    # one function; a shared store in any of them means this is only a local fast path.
    if not added or not checked:
        return None
    if any(_uses_shared_store(ctx, f) for f in {*added, *checked}):
        return None
    elements = [e for values in (*added.values(), *checked.values()) for e in values]
    if any(_identity(e) for e in elements):
        return None  # `id(obj)`: a visited set
    kind = _element_kind(elements)
    if kind is not None:
        return kind
    container = words_of(_snake(name))
    if container & _CONTAINER_WORDS:
        return "seen ids"
    if container & _ACCEPTED_WORDS and _authenticates(ctx):
        found = container | {w for e in elements for w in words_of(identifier(e))}
        if found & _ONE_TIME_WORDS:
            return "accepted one-time values"
    return None


def _authenticates(ctx: FileContext) -> bool:
    """Whether the module verifies messages or tokens at all (a dedup set of unsigned
    notifications is not a replay record)."""
    source = ctx.lowered
    return any(w in source for w in (b"hmac", b"signature", b"verify", b"decrypt", b"jwt"))


def _identity(element: ast.AST) -> bool:
    return (
        isinstance(element, ast.Call)
        and isinstance(element.func, ast.Name)
        and element.func.id == "id"
    )


def _element_kind(elements: list[ast.AST]) -> str | None:
    """What the remembered values are, when they are nonces, signatures or message ids
    (`event["id"]` counts: the id of an event; `user_id` does not)."""
    for element in elements:
        for node in ast.walk(element):
            ws = words_of(identifier(node))
            if isinstance(node, ast.Subscript) and ws & {"id", "ids"}:
                ws |= words_of(identifier(node.value))
            if ws & _ELEMENT_WORDS:
                return f"{identifier(node)} values"
            if ws & {"id", "ids", "key"} and ws & _ID_OWNERS:
                return f"{identifier(node)} values"
    return None


def _uses_shared_store(ctx: FileContext, function: ast.AST) -> bool:
    for node in own_nodes(ctx, function):
        if isinstance(node, ast.Call):
            func = node.func
            attr = func.attr if isinstance(func, ast.Attribute) else ""
            if attr in _SHARED_STORE_METHODS or any(k.arg == "nx" for k in node.keywords):
                return True
            if "ReplayGuard" in (ctx.call_name(node) or ""):
                return True
    return False


def _cached_id_function(ctx: FileContext, function: ast.FunctionDef) -> bool:
    decorated = False
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (ctx.qualname(target) or "") in _CACHE_DECORATORS:
            decorated = True
    if not decorated:
        return False
    return bool(words_of(_snake(function.name)) & (_CONTAINER_WORDS | {"seen"}))


def _snake(name: str) -> str:
    return identifier(ast.Name(id=name)) or name.lower()
