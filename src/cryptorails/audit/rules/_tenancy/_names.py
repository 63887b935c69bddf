"""Who the data belongs to: tenant, user and record identifiers, and where they are in
scope around an encryption."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import identifier

__all__ = [
    "carries_id",
    "enclosing_scopes",
    "flows_mention_tenant",
    "is_record_id",
    "is_tenant_id",
    "mentions_tenant",
    "record_id_in_scope",
    "tenant_in_scope",
]

_TENANT_WORD = r"(tenant|account|org|organization|organisation|customer|workspace|company)"
# An HTTP header names the tenant too: FastAPI's ``x_tenant_id: str = Header()`` and
# Django's ``request.META["HTTP_X_TENANT_ID"]`` are the ``X-Tenant-ID`` header.
_TENANT_ID = re.compile(
    r"^(?:http_)?(?:x_)?"
    r"(?:(?:current|active|request|req|owner|owning|target|parent|this|the|my|user|member)_)?"
    + _TENANT_WORD
    + r"(?:_(?:id|uuid|pk|slug|name|code|ctx|context|obj|ref|info))?$"
)
_RECORD_BARE = frozenset(
    {
        "tenant",
        "user",
        "account",
        "org",
        "organization",
        "organisation",
        "customer",
        "workspace",
        "owner",
        "patient",
        "member",
        "record",
        "id",
        "pk",
        "uid",
        "uuid",
    }
)
# `<something>_id` names that identify a key, a request or a process, not the record the
# ciphertext belongs to.
_NOT_RECORD = re.compile(
    r"(^|_)(key|kid|keyset|kms|nonce|iv|request|req|trace|span|correlation|client|app"
    r"|job|task|run|thread|process|version|alg|algorithm|purpose|provider|region|bucket"
    r"|container|queue|topic|stream|worker|node|host|pod|build|commit)_(id|uuid|pk)$"
)
_RECORD_ID = re.compile(r"^[a-z][a-z0-9_]*_(id|uuid|pk)$")


def is_tenant_id(name: str | None) -> bool:
    """Whether a snake_case identifier names a tenant (or account, org, customer,
    workspace) or its id."""
    return bool(name) and _TENANT_ID.match(name or "") is not None


def is_record_id(name: str | None) -> bool:
    """Whether a snake_case identifier names a tenant, user, account or record, or an id
    that says whose data a ciphertext is."""
    if not name:
        return False
    if name in _RECORD_BARE or is_tenant_id(name):
        return True
    return _RECORD_ID.match(name) is not None and _NOT_RECORD.search(name) is None


_IDENTIFIED = (ast.Name, ast.Attribute, ast.arg, ast.Subscript)


def _name_of(node: ast.AST) -> str | None:
    # identifier() names a subscript only by a constant key (row["tenant_id"]).
    return identifier(node) if isinstance(node, _IDENTIFIED) else None


def mentions_tenant(ctx: FileContext, node: ast.AST) -> bool:
    """Whether any name inside `node` (not following data flow) names a tenant."""
    return any(is_tenant_id(_name_of(sub)) for sub in ctx.walk(node))


def flows_mention_tenant(ctx: FileContext, expr: ast.AST) -> bool:
    """Whether a name inside `expr`, or inside what it flows from, names a tenant."""
    return any(is_tenant_id(_name_of(sub)) for sub in ctx.walk_values(expr))


_ID_SUFFIXES = ("_id", "_uuid", "_pk", "_slug")
_ID_ATTRIBUTES = frozenset({"id", "pk", "uuid", "slug"})
# Calls whose result holds their arguments (serialized, formatted, re-encoded or packed
# into a container): an id passed to one of them is inside the plaintext. Any other
# call (`snapshot_for(tenant_id)`, `repo.load(user_id)`) uses the id to look data up;
# its result is that data, not the id.
_KEEPS_ARGUMENTS = frozenset(
    {
        "str", "bytes", "bytearray", "repr", "format", "join", "encode", "dumps", "dump",
        "packb", "pack", "dict", "list", "tuple", "set", "frozenset", "b64encode",
        "urlsafe_b64encode", "standard_b64encode", "b32encode", "hexlify", "b2a_hex",
        "to_bytes", "canonicalize", "model_dump_json", "model_dump", "asdict",
    }
)  # fmt: skip


def carries_id(ctx: FileContext, expr: ast.AST, owner: Callable[[str], bool]) -> bool:
    """Whether `expr` (or what it flows from) contains an owner's id as a value —
    ``tenant_id``, ``account.id``, ``row["user_id"]``, ``json.dumps({"user": user.id})``
    — rather than only the owner's other attributes (``account.api_secret``) or data
    looked up by the id (``snapshot_for(tenant_id)``)."""
    for node in _local_walk(ctx, expr):
        if not isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
            continue
        parent = ctx.parent(node)
        if (
            isinstance(parent, ast.Attribute | ast.Subscript)
            and parent.value is node
            and not _reencoded(ctx, parent)
        ) or (isinstance(parent, ast.Call) and parent.func is node):
            continue
        name = identifier(node)
        if not name:
            continue
        if owner(name) and (name.endswith(_ID_SUFFIXES) or name in _ID_ATTRIBUTES):
            return True
        if (
            isinstance(node, ast.Attribute)
            and node.attr in _ID_ATTRIBUTES
            and owner(identifier(node.value) or "")
        ):
            return True
    return False


def _reencoded(ctx: FileContext, attribute: ast.AST) -> bool:
    """Whether `attribute` is a method of its value that keeps it (``tenant_id.encode()``:
    the id itself, encoded), not one of its other attributes (``account.api_secret``)."""
    call = ctx.parent(attribute)
    return (
        isinstance(attribute, ast.Attribute)
        and isinstance(call, ast.Call)
        and call.func is attribute
        and attribute.attr in _KEEPS_ARGUMENTS
    )


def _keeps_arguments(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    # A class built from the id (`Claims(tenant_id=...)`) holds it as a field.
    return name in _KEEPS_ARGUMENTS or name[:1].isupper()


def _local_walk(ctx: FileContext, expr: ast.AST) -> Iterator[ast.AST]:
    """Nodes of `expr` and of the local assignments its names come from, and of the
    returns of this module's helpers it calls. Unlike `FileContext.walk_values` it does
    not jump from a parameter to call sites, which the engine matches by method name
    alone (any ``.seal(...)`` in the module), and it does not look into the arguments
    of calls that only use them to look something up (see `_KEEPS_ARGUMENTS`)."""
    stack: list[tuple[ast.AST, int]] = [(expr, 0)]
    seen: set[int] = set()
    while stack and len(seen) < 500:
        node, depth = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, ast.Name):
            if depth < 4 and ctx.parameter_of(node) is None:
                stack.extend((v, depth + 1) for v in ctx.assignments(node))
        elif isinstance(node, ast.Call):
            stack.append((node.func, depth))
            if _keeps_arguments(node):
                stack.extend((a, depth) for a in node.args)
                stack.extend((k.value, depth) for k in node.keywords)
            elif depth < 4:
                helper = ctx.local_function(node)
                if helper is not None:
                    stack.extend((v, depth + 1) for v in _returns(ctx, helper))
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            stack.extend((child, depth) for child in ast.iter_child_nodes(node))


def _returns(ctx: FileContext, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    return [
        n.value
        for n in ctx.scope_nodes(function)
        if isinstance(n, ast.Return) and n.value is not None
    ]


def enclosing_scopes(
    ctx: FileContext, node: ast.AST
) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The function around `node` and the functions around that one, innermost first."""
    out: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    function = ctx.enclosing_function(node)
    while function is not None:
        out.append(function)
        function = ctx.enclosing_function(function)
    return out


def _tenant_name_in(ctx: FileContext, function: ast.AST) -> str | None:
    """The first name inside `function` (nested functions included) naming a tenant;
    memoized per function."""
    key = ("CR08:tenant-name", function)
    if key in ctx.cache:
        return ctx.cache[key]  # type: ignore[return-value]
    found: str | None = None
    for sub in ctx.walk(function):
        name = _name_of(sub)
        if is_tenant_id(name):
            found = name
            break
    ctx.cache[key] = found
    return found


def tenant_in_scope(ctx: FileContext, node: ast.AST) -> str | None:
    """The name of a tenant parameter or attribute visible where `node` runs, if any.

    Looks at the parameters and names of the enclosing functions, and at the attributes
    of the enclosing class (``self.tenant_id = ...`` or a model field ``tenant = ...``).
    """
    functions = enclosing_scopes(ctx, node)
    if not functions:
        return None
    for function in functions:
        found = _tenant_name_in(ctx, function)
        if found is not None:
            return found
    cls = ctx.enclosing_class(functions[-1])
    if cls is not None:
        names = [*ctx.self_attrs.get(cls, {}), *ctx.assigned.get(cls, {})]
        for raw in names:
            attribute = identifier(ast.Name(id=raw))
            if is_tenant_id(attribute):
                return attribute
    return None


def record_id_in_scope(ctx: FileContext, node: ast.AST) -> str | None:
    """The name of a parameter or local naming a tenant, user, account or record id in
    the function around `node` (or ``self.<x>_id`` read there), if any."""
    function = ctx.enclosing_function(node)
    if function is None:
        return None
    key = ("CR08:record-id", function)
    if key not in ctx.cache:
        ctx.cache[key] = _record_id_in(ctx, function)
    return ctx.cache[key]  # type: ignore[return-value]


def _record_id_in(ctx: FileContext, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    a = function.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs]
    for arg in params:
        name = identifier(arg)
        if is_record_id(name):
            return name
    for raw in ctx.assigned.get(function, {}):
        name = identifier(ast.Name(id=raw))
        if is_record_id(name):
            return name
    for sub in ctx.walk(function):
        if (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.value, ast.Name)
            and sub.value.id == "self"
        ):
            name = identifier(sub)
            if name and name not in _RECORD_BARE and is_record_id(name):
                return name
    return None
