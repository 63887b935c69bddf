"""The one-walk index of a parsed module that `FileContext` builds on.

One pass over the tree records, for every node, its parent, its enclosing scope and its
place in preorder (so a subtree is a list slice); the nodes of each type; the import
aliases; every assignment per scope; the functions defined and the calls made by name;
and attribute assignments on ``self`` per class. Every rule of a scan queries this index
instead of walking the tree again.

The walk is the hottest loop of a scan, so it is written for speed: no generator
helpers, dispatch by exact type through dicts, and for each node type only the fields
that can hold nodes (names, numbers and flags are never visited; nor are expression
contexts and operators, which are shared singletons, not places in the source).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["FunctionNode", "Index", "Scope", "child_nodes"]

Scope = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


class Index:
    """The index of one module's tree (see the module docstring)."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.parents: dict[ast.AST, ast.AST] = {}
        self.scope_of: dict[ast.AST, Scope] = {}
        self.imports: dict[str, str] = {}
        # scope -> name -> values assigned (an AugAssign contributes the AugAssign node)
        self.assigned: dict[ast.AST, dict[str, list[ast.AST]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.globals_declared: dict[ast.AST, set[str]] = defaultdict(set)
        self.functions: dict[str, list[FunctionNode]] = defaultdict(list)
        self.calls_by_name: dict[str, list[ast.Call]] = defaultdict(list)
        self.calls_by_attr: dict[str, list[ast.Call]] = defaultdict(list)
        self.self_attrs: dict[ast.ClassDef, dict[str, list[ast.AST]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.by_type: dict[type[ast.AST], list[ast.AST]] = defaultdict(list)
        # Preorder of every indexed node and (see `_subtrees`) each node's position and
        # subtree size, so `walk(node)` is a list slice instead of a generator walk.
        self._order: list[ast.AST] = []
        self._position: dict[ast.AST, int] | None = None
        self._size: list[int] | None = None
        self.cache: dict[object, object] = {}
        """Free for rules: memoize per-file work here (key by rule code and node)."""
        self._index()

    # -- indexing -------------------------------------------------------------------

    def _index(self) -> None:
        parents, scope_of, by_type = self.parents, self.scope_of, self.by_type
        handlers, scopes, ast_type = _HANDLERS, _SCOPE_TYPES, ast.AST
        fields_of, list_type = _FIELDS, list
        stack: list[tuple[ast.AST, Scope]] = [(self.tree, self.tree)]
        pop, push, add = stack.pop, stack.append, self._order.append
        while stack:
            node, scope = pop()
            cls = node.__class__
            add(node)
            scope_of[node] = scope
            by_type[cls].append(node)
            handler = handlers.get(cls)
            if handler is not None:
                handler(self, node, scope)
            fields = fields_of.get(cls)
            if fields is None:
                fields = _fields(cls)
            if not fields:
                continue  # a leaf: Name, Constant, alias, Pass...
            if cls in scopes:
                children: list[Any] = []
                for name in fields:
                    value = getattr(node, name, None)
                    if value.__class__ is list_type:
                        children += value
                    elif value is not None:
                        children.append(value)
                for child in reversed(children):  # reversed: visited in source order
                    if isinstance(child, ast_type):
                        parents[child] = node
                        # Defaults and decorators are evaluated in the enclosing scope.
                        inner = scope if _outside(node, child) else node
                        push((child, inner))  # type: ignore[arg-type]
                continue
            for name in reversed(fields):  # reversed: visited in source order
                value = getattr(node, name, None)
                if value.__class__ is list_type:
                    for child in reversed(value):
                        # Lists hold nodes, or None for ``**d`` in a dict display (the
                        # lists of names are in `_NOT_NODES` or in leaves).
                        if child is not None:
                            parents[child] = node
                            push((child, scope))
                elif isinstance(value, ast_type):
                    parents[value] = node
                    push((value, scope))
        # `global x` may come after (or in another function than) a binding of x: move
        # the bindings of names declared global to the module once everything is seen.
        for declared_in, names in self.globals_declared.items():
            local = self.assigned.get(declared_in, {})
            for name in names:
                if name in local:
                    self.assigned[self.tree][name].extend(local.pop(name))

    def _subtrees(self) -> tuple[dict[ast.AST, int], list[int]]:
        """Each node's position in preorder and its subtree's size, for `walk`: built
        on the first call, as most files never need them."""
        if self._position is None:
            order, parents = self._order, self.parents
            position = self._position = dict(zip(order, range(len(order)), strict=True))
            size = self._size = [1] * len(order)
            for i in range(len(order) - 1, 0, -1):
                size[position[parents[order[i]]]] += size[i]
        assert self._size is not None
        return self._position, self._size

    def _import(self, node: ast.Import, scope: Scope) -> None:
        for alias in node.names:
            if alias.asname:
                self.imports[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.imports[top] = top

    def _import_from(self, node: ast.ImportFrom, scope: Scope) -> None:
        base = "." * node.level + (node.module or "")
        for alias in node.names:
            self.imports[alias.asname or alias.name] = f"{base}.{alias.name}".lstrip(".")

    def _assign(self, node: ast.Assign, scope: Scope) -> None:
        for target in node.targets:
            self._bind(target, node.value, scope)

    def _ann_assign(self, node: ast.AnnAssign, scope: Scope) -> None:
        if node.value is not None:
            self._bind(node.target, node.value, scope)

    def _aug_assign(self, node: ast.AugAssign, scope: Scope) -> None:
        self._bind(node.target, node, scope)

    def _named_expr(self, node: ast.NamedExpr, scope: Scope) -> None:
        self._bind(node.target, node.value, scope)

    def _loop(self, node: ast.For | ast.AsyncFor | ast.comprehension, scope: Scope) -> None:
        self._bind(node.target, node.iter, scope)

    def _withitem(self, node: ast.withitem, scope: Scope) -> None:
        if node.optional_vars is not None:
            self._bind(node.optional_vars, node.context_expr, scope)

    def _function(self, node: FunctionNode, scope: Scope) -> None:
        self.functions[node.name].append(node)

    def _call(self, node: ast.Call, scope: Scope) -> None:
        func = node.func
        if func.__class__ is ast.Name:
            self.calls_by_name[func.id].append(node)
        elif func.__class__ is ast.Attribute:
            self.calls_by_attr[func.attr].append(node)

    def _global(self, node: ast.Global, scope: Scope) -> None:
        self.globals_declared[scope].update(node.names)

    def _bind(self, target: ast.AST, value: ast.AST, scope: Scope) -> None:
        if isinstance(target, ast.Name):
            self.assigned[scope][target.id].append(value)
        elif isinstance(target, ast.Tuple | ast.List):
            elements = value.elts if isinstance(value, ast.Tuple | ast.List) else None
            for i, element in enumerate(target.elts):
                if elements is not None and len(elements) == len(target.elts):
                    self._bind(element, elements[i], scope)
                else:
                    self._bind(element, value, scope)
        elif isinstance(target, ast.Starred):
            self._bind(target.value, value, scope)
        elif (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        ):
            cls = self.enclosing_class(scope)
            if cls is not None:
                self.self_attrs[cls][target.attr].append(value)

    # -- structure ------------------------------------------------------------------

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def enclosing_function(self, node: ast.AST) -> FunctionNode | None:
        scope = self.scope_of.get(node)
        while scope is not None and not isinstance(scope, _FUNCS):
            if isinstance(scope, ast.Module):
                return None
            scope = self.scope_of.get(scope)
        return scope

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        scope: ast.AST | None = node
        while scope is not None and not isinstance(scope, ast.Module):
            if isinstance(scope, ast.ClassDef):
                return scope
            scope = self.scope_of.get(scope)
        return None

    def walk(self, node: ast.AST) -> list[ast.AST]:
        """`node` and every node below it, in source order (like `ast.walk`, but a list,
        without expression contexts and operators, and much faster)."""
        position, size = self._subtrees()
        i = position.get(node)
        if i is None:
            return list(ast.walk(node))  # a node built by a rule, not from this file
        return self._order[i : i + size[i]]

    def scope_nodes(self, scope: ast.AST) -> list[ast.AST]:
        """The nodes whose scope is `scope` (a function, class, lambda or the module):
        its own body, without the insides of nested functions and classes. Cached."""
        key = ("scope_nodes", scope)
        found = self.cache.get(key)
        if found is None:
            scope_of = self.scope_of
            found = self.cache[key] = [n for n in self.walk(scope) if scope_of.get(n) is scope]
        return found  # type: ignore[return-value]


_HANDLERS: dict[type[ast.AST], Callable[[Index, Any, Scope], None]] = {
    ast.Import: Index._import,
    ast.ImportFrom: Index._import_from,
    ast.Assign: Index._assign,
    ast.AnnAssign: Index._ann_assign,
    ast.AugAssign: Index._aug_assign,
    ast.NamedExpr: Index._named_expr,
    ast.For: Index._loop,
    ast.AsyncFor: Index._loop,
    ast.comprehension: Index._loop,
    ast.withitem: Index._withitem,
    ast.FunctionDef: Index._function,
    ast.AsyncFunctionDef: Index._function,
    ast.Call: Index._call,
    ast.Global: Index._global,
}
_SCOPE_TYPES = frozenset(_SCOPES)
# Fields that never hold a node, by name (ast's grammar: identifiers, constants, ints,
# type comments), plus contexts and operators. `names` holds nodes in imports (aliases)
# but strings in `global` and `nonlocal`, which are leaves below; `name` is a node only
# in 3.12's `type X = ...`.
_NOT_NODES = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "name", "asname", "module", "level"}
    | {"type_comment", "simple", "is_async", "conversion", "kind", "rest", "kwd_attrs"}
)
_LEAVES = frozenset({ast.Constant, ast.Global, ast.Nonlocal})
_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _fields(cls: type[ast.AST]) -> tuple[str, ...]:
    """The fields of `cls` that may hold nodes (the walk still checks each value)."""
    found = _FIELDS.get(cls)
    if found is None:
        skip = _NOT_NODES - {"name"} if cls.__name__ == "TypeAlias" else _NOT_NODES
        leaf = cls in _LEAVES
        found = _FIELDS[cls] = () if leaf else tuple(f for f in cls._fields if f not in skip)
    return found


_ALL_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """`ast.iter_child_nodes(node)` as a list (contexts and operators included), without
    the generator overhead, for rules that walk a subtree with their own pruning."""
    cls = node.__class__
    fields = _ALL_FIELDS.get(cls)
    if fields is None:
        fields = _ALL_FIELDS[cls] = cls._fields
    out: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, ast.AST))
    return out


def _outside(parent: ast.AST, child: ast.AST) -> bool:
    """Whether `child` of a scope-creating `parent` is evaluated in the outer scope."""
    if isinstance(parent, _FUNCS):
        return child in parent.decorator_list or child is parent.returns or child is parent.args
    if isinstance(parent, ast.ClassDef):
        return child in parent.decorator_list or child in parent.bases
    if isinstance(parent, ast.Lambda):
        return child is parent.args
    return False
