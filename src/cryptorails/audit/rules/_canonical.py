"""Shared vocabulary for the canonicalization rules (CR03xx): which calls authenticate
which bytes, which functions verify, what re-serializes parsed data, and what reads or
parses an incoming request body.
"""

from __future__ import annotations

import ast
import re
import weakref
from collections.abc import Iterator

from cryptorails.audit._context import FileContext, child_nodes
from cryptorails.audit._vocab import call_argument, is_secret_name

__all__ = [
    "BodyRead",
    "body_reads",
    "calls_in",
    "calls_in_last_first",
    "is_verifier",
    "mac_messages",
    "parse_input",
    "request_parse_root",
    "reserialized",
]

_MAC_CONSTRUCTORS = ("hmac.new", "hmac.HMAC", "cryptography.hazmat.primitives.hmac.HMAC")
_COMPARES = ("compare_digest", "constant_time_compare")
_EXTERNAL_VERIFY = re.compile(r"verify|signature|construct_event")
_VERIFIER_NAME = re.compile(r"(^|_)(verify|verified|check|validate|valid|authenticate|authentic)")
_DUMPS = frozenset(
    {
        f"{module}.{verb}"
        for module in ("json", "simplejson", "ujson", "orjson", "rapidjson", "pickle")
        for verb in ("dumps", "dump")
    }
    | {"yaml.dump", "yaml.safe_dump", "msgpack.packb", "msgpack.dumps", "str", "repr"}
    | {"urllib.parse.urlencode"}
)
_STRICT_LOADS = ("cryptorails.canonical.loads",)
_PARSES = frozenset(
    {
        f"{module}.{verb}"
        for module in ("json", "simplejson", "ujson", "orjson", "rapidjson", "pickle", "msgpack")
        for verb in ("loads", "load", "unpackb")
    }
    | {"yaml.safe_load", "yaml.load", "xmltodict.parse", "urllib.parse.parse_qs"}
    | {"urllib.parse.parse_qsl"}
)
_PARSE_METHODS = frozenset({"parse_raw", "model_validate_json", "parse_obj"})
# Accessors that parse the request body (or merge it with the query string).
_REQUEST_PARSED = frozenset({"json", "form", "values", "POST", "files", "get_json", "post"})
_BODY_ATTRS = frozenset({"body", "data", "raw_body", "content", "raw_data", "payload"})
_BODY_CALLS = frozenset({"get_data", "body", "read", "text", "get_body", "raw_body"})
_FORM_NAME = re.compile(r"(^|_)(form|params|query|args)($|_)")
_FORMISH = frozenset({"form", "args", "values", "POST", "GET", "query_params", "query"})


_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def calls_in(ctx: FileContext, function: ast.AST) -> list[ast.Call]:
    """The calls of `function` itself (its body, decorators and defaults, and lambdas in
    them; not nested functions or classes), in source order. Computed once per function."""
    key = ("calls_in", function)
    found = ctx.cache.get(key)
    if found is None:
        parents = ctx.parents
        nested: set[ast.AST] = set()
        out: list[ast.Call] = []
        for node in ctx.walk(function)[1:]:
            if parents.get(node) in nested:
                nested.add(node)  # inside a nested function or class
            elif isinstance(node, ast.Call):
                out.append(node)
            elif isinstance(node, _NESTED):
                nested.add(node)
        found = ctx.cache[key] = out
    return found  # type: ignore[return-value]


def calls_in_last_first(ctx: FileContext, function: ast.AST) -> list[ast.Call]:
    """`calls_in` in the order a stack walk meets them (the last statement first), for the
    places where the first match is what gets reported."""
    key = ("calls_in_last_first", function)
    found = ctx.cache.get(key)
    if found is None:
        out: list[ast.Call] = []
        stack = child_nodes(function)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Call):
                out.append(node)
            if not isinstance(node, _NESTED):
                stack.extend(child_nodes(node))
        found = ctx.cache[key] = out
    return found  # type: ignore[return-value]


# Per-file memo of `is_verifier`: every function is asked about once per rule and again
# for every call made to it.
_VERIFIERS: weakref.WeakKeyDictionary[FileContext, dict[int, bool]] = weakref.WeakKeyDictionary()


def mac_messages(call: ast.Call, ctx: FileContext) -> list[ast.expr]:
    """The data a MAC, hash-with-secret or signature-verification call authenticates."""
    name = ctx.call_name(call) or ""
    func = call.func
    if name in _MAC_CONSTRUCTORS or name == "hmac.digest":
        message = call_argument(call, 1, "msg") or call_argument(call, None, "data")
        return [message] if message is not None else []
    if name.endswith(".update") and name.startswith((*_MAC_CONSTRUCTORS, "hashlib.")):
        return list(call.args[:1])
    if name.startswith("hashlib.") and call.args:
        secretish = any(
            is_secret_name((n.id if isinstance(n, ast.Name) else n.attr).lower())
            for n in ast.walk(call.args[0])
            if isinstance(n, ast.Name | ast.Attribute)
        )
        return list(call.args[:1]) if secretish else []
    if isinstance(func, ast.Attribute) and func.attr == "verify" and len(call.args) >= 2:
        return list(call.args)
    if ctx.local_function(call) is None and _EXTERNAL_VERIFY.search(name.rsplit(".", 1)[-1]):
        return [*call.args, *(k.value for k in call.keywords if k.arg in ("payload", "body"))]
    return []


def is_verifier(function: ast.AST, ctx: FileContext, *, depth: int = 0) -> bool:
    """A function that checks a MAC or signature: it compares digests, calls `.verify`,
    a verifying library call or a verifying helper of the module, or is named like a
    check (``verify_webhook``, ``is_valid_signature``)."""
    memo = _VERIFIERS.setdefault(ctx, {})
    key = id(function) * 2 + depth
    if key not in memo:
        memo[key] = _is_verifier(function, ctx, depth)
    return memo[key]


def _is_verifier(function: ast.AST, ctx: FileContext, depth: int) -> bool:
    name = getattr(function, "name", "")
    if _VERIFIER_NAME.search(name.lower()):
        return True
    for call in calls_in(ctx, function):
        called = ctx.call_name(call) or ""
        if called.endswith(_COMPARES) or called.endswith(".verify"):
            return True
        helper = ctx.local_function(call)
        if helper is None:
            if _EXTERNAL_VERIFY.search(called.rsplit(".", 1)[-1].lower()):
                return True
        elif depth == 0 and helper is not function and is_verifier(helper, ctx, depth=1):
            return True
    compares = _signature_compares(ctx)
    return bool(compares) and any(node in compares for node in ctx.walk(function))


def _signature_compares(ctx: FileContext) -> set[ast.AST]:
    """The ``==``/``!=`` comparisons of the module that mention a signature, digest or
    MAC (once per file: every function asks)."""
    key = ("signature_compares",)
    cached = ctx.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    found: set[ast.AST] = set()
    for node in ctx.by_type.get(ast.Compare, ()):
        assert isinstance(node, ast.Compare)
        if any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            text = ast.unparse(node).lower()
            if "sig" in text or "digest" in text or "hmac" in text or "mac" in text:
                found.add(node)
    ctx.cache[key] = found
    return found


def reserialized(expr: ast.AST, ctx: FileContext) -> list[tuple[ast.Call, ast.expr]]:
    """(serializing call, serialized object) pairs among what `expr` flows from, where
    the object is parsed data (or an opaque value), not a literal built in place.
    Computed once per expression (CR0301 and CR0302 both ask)."""
    key = ("reserialized", expr)
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = list(_reserialized(expr, ctx))
    return found  # type: ignore[return-value]


def _reserialized(expr: ast.AST, ctx: FileContext) -> Iterator[tuple[ast.Call, ast.expr]]:
    for value in ctx.walk_values(expr):
        if not isinstance(value, ast.Call):
            continue
        name = ctx.call_name(value) or ""
        if isinstance(value.func, ast.Attribute) and value.func.attr == "model_dump_json":
            yield value, value.func.value
            continue
        if name not in _DUMPS or not value.args:
            continue
        target = value.args[0]
        if name in ("str", "repr") or name.endswith("urlencode"):
            if _parsed(target, ctx, formish=name.endswith("urlencode")):
                yield value, target
        elif not _built_in_place(target, ctx):
            yield value, target


def _built_in_place(expr: ast.AST, ctx: FileContext) -> bool:
    values = ctx.values(expr)
    if any(
        isinstance(v, ast.Call) and (ctx.call_name(v) or "") in _STRICT_LOADS
        for v in ctx.walk_values(expr)
    ):
        return True
    return bool(values) and all(
        isinstance(v, ast.Dict | ast.List | ast.Tuple | ast.Set | ast.Constant | ast.JoinedStr)
        for v in values
    )


def _parsed(expr: ast.AST, ctx: FileContext, *, formish: bool) -> bool:
    for value in ctx.walk_values(expr):
        if formish and isinstance(value, ast.Name) and _FORM_NAME.search(value.id.lower()):
            return True
        if isinstance(value, ast.Attribute) and value.attr in _FORMISH:
            return True
        if isinstance(value, ast.Call):
            name = ctx.call_name(value) or ""
            if name in ("urllib.parse.parse_qs", "urllib.parse.parse_qsl"):
                return True
            if not formish and (parse_input(value, ctx) is not None or _request_parse(value)):
                return True
        if not formish and isinstance(value, ast.Attribute) and value.attr == "json":
            return True
    return False


def parse_input(call: ast.Call, ctx: FileContext) -> ast.expr | None:
    """The text a parsing call parses (``json.loads(x)`` → x), or None."""
    name = ctx.call_name(call) or ""
    func = call.func
    if name in _PARSES or (isinstance(func, ast.Attribute) and func.attr in _PARSE_METHODS):
        return call.args[0] if call.args else None
    return None


def _request_parse(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _REQUEST_PARSED
        and node.func.attr != "values"  # dict.values()
    ):
        return ast.unparse(node.func.value)
    return None


def request_parse_root(node: ast.AST) -> str | None:
    """``request.json`` / ``request.get_json()`` / ``await request.form()``: the request
    expression whose body this accessor parses (as text), else None."""
    if isinstance(node, ast.Attribute) and node.attr in _REQUEST_PARSED:
        if node.attr in ("get_json", "post"):
            return None  # only meaningful when called; the Call is reported instead
        return ast.unparse(node.value)
    return _request_parse(node)


class BodyRead:
    """One raw read of a request body: the reading expression and its request root."""

    def __init__(self, node: ast.AST, root: str) -> None:
        self.node = node
        self.root = root
        self.text = ast.unparse(node)


def body_reads(expr: ast.AST, ctx: FileContext) -> list[BodyRead]:
    """The raw body reads (``request.body``, ``request.get_data()``,
    ``await request.body()``) that `expr` flows from (once per expression)."""
    key = ("body_reads", expr)
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = _body_reads(expr, ctx)
    return found  # type: ignore[return-value]


def _body_reads(expr: ast.AST, ctx: FileContext) -> list[BodyRead]:
    out: list[BodyRead] = []
    for value in ctx.walk_values(expr):
        if isinstance(value, ast.Attribute) and value.attr in _BODY_ATTRS:
            parent = ctx.parent(value)
            if not (isinstance(parent, ast.Call) and parent.func is value):
                out.append(BodyRead(value, ast.unparse(value.value)))
        elif (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr in _BODY_CALLS
            and not isinstance(value.func.value, ast.Constant)
        ):
            out.append(BodyRead(value, ast.unparse(value.func.value)))
    return out
