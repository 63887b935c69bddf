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
    "is_record_id",
    "is_tenant_id",
    "mentions_tenant",
    "record_id_in_scope",
    "tenant_in_scope",
]

_TENANT_WORD = r"(tenant|account|org|organization|organisation|customer|workspace|company)"
_TENANT_ID = re.compile(
    r"^(?:(?:current|active|request|req|owner|owning|target|parent|this|the|my|user|member)_)?"
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


def _idents(node: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    for sub in ast.walk(node):
        # identifier() names a subscript only by a constant key (row["tenant_id"]).
        if isinstance(sub, ast.Name | ast.Attribute | ast.arg | ast.Subscript):
            name = identifier(sub)
            if name:
                yield sub, name


def mentions_tenant(node: ast.AST) -> bool:
    """Whether any name inside `node` (not following data flow) names a tenant."""
    return any(is_tenant_id(name) for _, name in _idents(node))


_ID_SUFFIXES = ("_id", "_uuid", "_pk", "_slug")
_ID_ATTRIBUTES = frozenset({"id", "pk", "uuid", "slug"})


def carries_id(ctx: FileContext, expr: ast.AST, owner: Callable[[str], bool]) -> bool:
    """Whether `expr` (or what it flows from) contains an owner's id as a value —
    ``tenant_id``, ``account.id``, ``row["user_id"]`` — rather than only the owner's
    other attributes (``account.api_secret``)."""
    for node in _local_walk(ctx, expr):
        if not isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
            continue
        parent = ctx.parent(node)
        if (isinstance(parent, ast.Attribute | ast.Subscript) and parent.value is node) or (
            isinstance(parent, ast.Call) and parent.func is node
        ):
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


def _local_walk(ctx: FileContext, expr: ast.AST) -> Iterator[ast.AST]:
    """Nodes of `expr` and of the local assignments its names come from. Unlike
    `FileContext.walk_values` it does not jump from a parameter to call sites, which
    the engine matches by method name alone (any ``.seal(...)`` in the module)."""
    stack: list[tuple[ast.AST, int]] = [(expr, 0)]
    seen: set[int] = set()
    while stack and len(seen) < 500:
        node, depth = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, ast.Name) and depth < 4 and ctx.parameter_of(node) is None:
            stack.extend((v, depth + 1) for v in ctx.assignments(node))
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            stack.extend((child, depth) for child in ast.iter_child_nodes(node))


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


def tenant_in_scope(ctx: FileContext, node: ast.AST) -> str | None:
    """The name of a tenant parameter or attribute visible where `node` runs, if any.

    Looks at the parameters and names of the enclosing functions, and at the attributes
    of the enclosing class (``self.tenant_id = ...`` or a model field ``tenant = ...``).
    """
    functions = enclosing_scopes(ctx, node)
    if not functions:
        return None
    for function in functions:
        for _, name in _idents(function):
            if is_tenant_id(name):
                return name
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
    for sub in ast.walk(function):
        if (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.value, ast.Name)
            and sub.value.id == "self"
        ):
            name = identifier(sub)
            if name and name not in _RECORD_BARE and is_record_id(name):
                return name
    return None
