"""What a rule knows about the file it checks: names, scopes and intra-module data flow.

`FileContext` is built by one walk over the module's tree. It records, for every node,
its parent and enclosing scope; the import aliases (so `G` from
``from cryptography...aead import AESGCM as G`` resolves to the full name); every
assignment per scope; the functions and methods defined in the module and the calls made
to them; and attribute assignments on ``self`` per class.

Data flow is intra-module and bounded: `values()` follows a name to what was assigned to
it (in its scope, then enclosing ones, then the module), a parameter to the arguments of
literal call sites in this module and its default, and a call to a simple helper in this
module to what the helper returns. That is enough to see that ``nonce = make_nonce()``
with ``def make_nonce(): return int(time.time()).to_bytes(12, "big")`` is a clock, and
cheap enough to run on every file.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from cryptorails.audit._finding import Finding

if TYPE_CHECKING:
    from cryptorails.audit._registry import Rule

__all__ = ["FileContext", "Scope", "child_nodes"]

Scope = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_FUNCS_OR_LAMBDA = (*_FUNCS, ast.Lambda)
_MAX_DEPTH = 6  # hops through names, parameters and helper returns
_MAX_NODES = 4000  # nodes visited by one walk_values


class FileContext:
    """Index of one parsed module, plus the reporting hook for the rule being run."""

    def __init__(self, path: str, source: bytes, tree: ast.Module) -> None:
        self.path = path
        self.source = source
        self.tree = tree
        self.rule: Rule | None = None
        self._lines: list[bytes] | None = None
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
        # Preorder of every indexed node and each node's position and subtree size, so
        # `walk(node)` is a list slice instead of a generator walk.
        self._order: list[ast.AST] = []
        self._position: dict[ast.AST, int] = {}
        self._size: list[int] = []
        self._qualnames: dict[ast.AST, str | None] = {}
        self._params: dict[ast.AST, frozenset[str]] = {}
        self.cache: dict[object, object] = {}
        """Free for rules: memoize per-file work here (key by rule code and node)."""
        self._index()

    # -- indexing -------------------------------------------------------------------

    def _index(self) -> None:
        # The hottest loop of a scan: one pass over every node, so it avoids generator
        # helpers (ast.iter_child_nodes) and dispatches by exact type through a dict.
        # Expression contexts and operators (Load, Store, Add, Eq, ...) are shared
        # singletons, not places in the source: they are not indexed.
        parents, scope_of, by_type = self.parents, self.scope_of, self.by_type
        handlers, scopes, ast_type = _HANDLERS, _SCOPE_TYPES, ast.AST
        fields_of, list_type = _FIELDS, list
        stack: list[tuple[ast.AST, Scope]] = [(self.tree, self.tree)]
        pop, push = stack.pop, stack.append
        order, position = self._order, self._position
        while stack:
            node, scope = pop()
            cls = node.__class__
            scope_of[node] = scope
            by_type[cls].append(node)
            position[node] = len(order)
            order.append(node)
            handler = handlers.get(cls)
            if handler is not None:
                handler(self, node, scope)
            fields = fields_of.get(cls)
            if fields is None:
                fields = _fields(cls)
            children: list[ast.AST] = []
            for name in fields:
                value = getattr(node, name, None)
                if value.__class__ is list_type:
                    children += value
                elif isinstance(value, ast_type):
                    children.append(value)
            if not children:
                continue
            if cls in scopes:
                for child in reversed(children):  # reversed: visited in source order
                    if isinstance(child, ast_type):
                        parents[child] = node
                        # Defaults and decorators are evaluated in the enclosing scope.
                        push((child, scope if _outside(node, child) else node))  # type: ignore[arg-type]
            else:
                for child in reversed(children):
                    if isinstance(child, ast_type):  # lists may hold None or str
                        parents[child] = node
                        push((child, scope))
        size = [1] * len(order)
        for i in range(len(order) - 1, 0, -1):
            size[position[parents[order[i]]]] += size[i]
        self._size = size
        # `global x` may come after (or in another function than) a binding of x: move
        # the bindings of names declared global to the module once everything is seen.
        for declared_in, names in self.globals_declared.items():
            local = self.assigned.get(declared_in, {})
            for name in names:
                if name in local:
                    self.assigned[self.tree][name].extend(local.pop(name))

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
        if isinstance(func, ast.Name):
            self.calls_by_name[func.id].append(node)
        elif isinstance(func, ast.Attribute):
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

    @property
    def lowered(self) -> bytes:
        """The source in lower case (computed once)."""
        found = self.cache.get("lowered")
        if found is None:
            found = self.cache["lowered"] = self.source.lower()
        assert isinstance(found, bytes)
        return found

    def walk(self, node: ast.AST) -> list[ast.AST]:
        """`node` and every node below it, in source order (like `ast.walk`, but a list,
        without expression contexts and operators, and much faster)."""
        i = self._position.get(node)
        if i is None:
            return list(ast.walk(node))  # a node built by a rule, not from this file
        return self._order[i : i + self._size[i]]

    def scope_nodes(self, scope: ast.AST) -> list[ast.AST]:
        """The nodes whose scope is `scope` (a function, class, lambda or the module):
        its own body, without the insides of nested functions and classes. Cached."""
        key = ("scope_nodes", scope)
        found = self.cache.get(key)
        if found is None:
            scope_of = self.scope_of
            found = self.cache[key] = [n for n in self.walk(scope) if scope_of.get(n) is scope]
        return found  # type: ignore[return-value]

    def line_text(self, line: int) -> str:
        if self._lines is None:
            self._lines = self.source.splitlines()
        if 1 <= line <= len(self._lines):
            return self._lines[line - 1].decode("utf-8", "replace")
        return ""

    # -- names ----------------------------------------------------------------------

    def qualname(self, expr: ast.AST | None) -> str | None:
        """The dotted name an expression refers to, through import aliases.

        ``G`` → ``cryptography.hazmat.primitives.ciphers.aead.AESGCM`` after
        ``from ... import AESGCM as G``; a local bound once to ``G(key)`` resolves to the
        class too, so ``aead.encrypt`` → ``...AESGCM.encrypt``; ``self.x`` follows the
        class's ``self.x = ...`` assignments. Names that resolve to nothing known are
        returned as written (``print``, ``request.headers.get``).
        """
        if expr is None:
            return None
        try:
            return self._qualnames[expr]
        except KeyError:
            found = self._qualnames[expr] = self._qualname(expr, 0)
            return found

    def _qualname(self, expr: ast.AST | None, depth: int) -> str | None:
        if isinstance(expr, ast.Name):
            if expr.id in self.imports and not self._locally_bound(expr):
                return self.imports[expr.id]
            if depth < _MAX_DEPTH:
                for value in self.assignments(expr):
                    if isinstance(value, ast.Call):
                        inner = self._qualname(value.func, depth + 1)
                        if inner is not None:
                            return inner
                    elif isinstance(value, ast.Name | ast.Attribute):
                        inner = self._qualname(value, depth + 1)
                        if inner is not None:
                            return inner
            return expr.id
        if isinstance(expr, ast.Attribute):
            base = expr.value
            if isinstance(base, ast.Name) and base.id == "self" and depth < _MAX_DEPTH:
                for value in self.self_attribute(expr):
                    target = value.func if isinstance(value, ast.Call) else value
                    if isinstance(target, ast.Name | ast.Attribute):
                        inner = self._qualname(target, depth + 1)
                        if inner is not None:
                            return inner
            prefix = self._qualname(base, depth + 1) if depth < _MAX_DEPTH else None
            if prefix is None:
                return None
            return f"{prefix}.{expr.attr}"
        if isinstance(expr, ast.Call) and depth < _MAX_DEPTH:
            return self._qualname(expr.func, depth + 1)
        return None

    def call_name(self, node: ast.AST) -> str | None:
        """The qualified name of the callee if `node` is a call."""
        return self.qualname(node.func) if isinstance(node, ast.Call) else None

    def _locally_bound(self, name: ast.Name) -> bool:
        scope = self.scope_of.get(name)
        return (
            scope is not None
            and not isinstance(scope, ast.Module)
            and (name.id in self.assigned.get(scope, {}) or name.id in self.params(scope))
        )

    # -- data flow ------------------------------------------------------------------

    def assignments(self, name: ast.Name) -> list[ast.AST]:
        """What was assigned to `name` in its scope (or the nearest enclosing scope, or
        the module) — every assignment, not only those before `name`."""
        scope: ast.AST | None = self.scope_of.get(name)
        while scope is not None:
            found = self.assigned.get(scope, {}).get(name.id)
            if found:
                return found
            if isinstance(scope, ast.Module) or name.id in self.params(scope):
                return []
            scope = self.scope_of.get(scope)
        return []

    def params(self, scope: ast.AST) -> frozenset[str]:
        """The parameter names of a function or lambda (empty for other scopes)."""
        found = self._params.get(scope)
        if found is None:
            found = self._params[scope] = _params(scope)
        return found

    def self_attribute(self, attr: ast.Attribute) -> list[ast.AST]:
        cls = self.enclosing_class(attr)
        return self.self_attrs[cls].get(attr.attr, []) if cls is not None else []

    def parameter_of(self, name: ast.Name) -> tuple[FunctionNode, ast.arg] | None:
        """The enclosing function's parameter that `name` reads, if it reads one."""
        scope = self.scope_of.get(name)
        if isinstance(scope, _FUNCS) and name.id not in self.assigned.get(scope, {}):
            for arg in _all_args(scope):
                if arg.arg == name.id:
                    return scope, arg
        return None

    def argument_values(self, function: FunctionNode, arg: ast.arg) -> list[ast.AST]:
        """Arguments passed for `arg` at this module's call sites, and its default."""
        positional = [*function.args.posonlyargs, *function.args.args]
        out: list[ast.AST] = []
        index = positional.index(arg) if arg in positional else None
        method = _is_method(self, function)
        calls = (self.calls_by_attr if method else self.calls_by_name).get(function.name, [])
        if method:
            calls = [c for c in calls if self._may_call_method(c, function)]
        for call in calls:
            offset = index
            if method and offset is not None:
                offset -= 1
            if (
                offset is not None
                and 0 <= offset < len(call.args)
                and not isinstance(call.args[offset], ast.Starred)
            ):
                out.append(call.args[offset])
            out.extend(k.value for k in call.keywords if k.arg == arg.arg)
        defaults = function.args.defaults
        if index is not None and defaults:
            first = len(positional) - len(defaults)
            if index >= first:
                out.append(defaults[index - first])
        for kwarg, default in zip(function.args.kwonlyargs, function.args.kw_defaults, strict=True):
            if kwarg is arg and default is not None:
                out.append(default)
        return out

    def _may_call_method(self, call: ast.Call, method: FunctionNode) -> bool:
        """Whether ``x.name(...)`` may call `method`: when several classes of the module
        define a method of that name, only calls through ``self``/``cls`` inside the
        method's own class, or through an instance of that class, count."""
        owners = [f for f in self.functions.get(method.name, []) if _is_method(self, f)]
        if len(owners) <= 1:
            return True
        cls = self.scope_of.get(method)
        func = call.func
        assert isinstance(func, ast.Attribute)
        base = func.value
        if isinstance(base, ast.Name) and base.id in ("self", "cls"):
            return self.enclosing_class(call) is cls
        return isinstance(cls, ast.ClassDef) and self.qualname(base) == cls.name

    def local_function(self, call: ast.Call) -> FunctionNode | None:
        """The function of this module that `call` invokes, when that is unambiguous."""
        func = call.func
        if isinstance(func, ast.Name):
            if func.id in self.imports or self.assignments(func):
                return None
            name, method = func.id, False
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
        ):
            name, method = func.attr, True
        else:
            return None
        candidates = [f for f in self.functions.get(name, []) if _is_method(self, f) == method]
        return candidates[0] if len(candidates) == 1 else None

    def values(self, expr: ast.AST) -> list[ast.AST]:
        """The expressions `expr` may evaluate to, following names, parameters and
        helper returns (bounded); an expression that leads nowhere is its own value."""
        out: list[ast.AST] = []
        self._values(expr, 0, set(), out)
        return out

    def _values(self, expr: ast.AST, depth: int, seen: set[int], out: list[ast.AST]) -> None:
        if id(expr) in seen:
            return
        seen.add(id(expr))
        nexts = self._flows_from(expr) if depth < _MAX_DEPTH else None
        if not nexts:
            out.append(expr)
            return
        for value in nexts:
            self._values(value, depth + 1, seen, out)

    def _flows_from(self, expr: ast.AST) -> list[ast.AST] | None:
        if isinstance(expr, ast.Name) and isinstance(expr.ctx, ast.Load):
            param = self.parameter_of(expr)
            if param is not None:
                return self.argument_values(*param)
            if expr.id in self.imports:
                return None
            found = self.assignments(expr)
            return [v for v in found if not isinstance(v, ast.AugAssign)] or None
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            if expr.value.id == "self":
                return self.self_attribute(expr) or None
            return None
        if isinstance(expr, ast.Call):
            function = self.local_function(expr)
            if function is not None:
                key = ("returns", function)
                returns = self.cache.get(key)
                if returns is None:
                    returns = self.cache[key] = _returns(function)
                assert isinstance(returns, list)
                return returns or None
        if isinstance(expr, ast.Await):
            return [expr.value]
        return None

    def walk_values(self, expr: ast.AST) -> Iterator[ast.AST]:
        """Every node inside `expr` and inside whatever its names, parameters and helper
        calls flow from (bounded). Use it to ask "does this value come from X?"."""
        stack: list[tuple[ast.AST, int]] = [(expr, 0)]
        seen: set[int] = set()
        while stack and len(seen) < _MAX_NODES:
            node, depth = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            yield node
            if depth < _MAX_DEPTH:
                for value in self._flows_from(node) or ():
                    stack.append((value, depth + 1))
            if isinstance(node, ast.AugAssign):
                stack.append((node.value, depth))
                continue
            if isinstance(node, _FUNCS_OR_LAMBDA):
                continue
            stack.extend((child, depth) for child in ast.iter_child_nodes(node))

    def literal(self, expr: ast.AST) -> object:
        """The constant `expr` evaluates to when every path leads to one constant; else
        the sentinel `NOT_CONSTANT`."""
        found: list[object] = []
        for value in self.values(expr):
            if not isinstance(value, ast.Constant):
                return NOT_CONSTANT
            found.append(value.value)
        if found and all(f == found[0] and type(f) is type(found[0]) for f in found):
            return found[0]
        return NOT_CONSTANT

    def is_counter(self, name: ast.Name) -> bool:
        """Whether `name` is a counter: augmented in place somewhere, or from
        `itertools.count`."""
        scope: ast.AST | None = self.scope_of.get(name)
        while scope is not None:
            found = self.assigned.get(scope, {}).get(name.id)
            if found:
                return any(
                    isinstance(v, ast.AugAssign)
                    or (isinstance(v, ast.Call) and self.call_name(v) == "itertools.count")
                    for v in found
                )
            if isinstance(scope, ast.Module):
                return False
            scope = self.scope_of.get(scope)
        return False

    # -- reporting ------------------------------------------------------------------

    def report(self, node: ast.AST, message: str, fix: str | None = None) -> Finding:
        """A finding of the rule being run, at `node`."""
        rule = self.rule
        assert rule is not None, "report() is only valid while a rule runs"
        line = getattr(node, "lineno", 1)
        offset = getattr(node, "col_offset", 0)
        if self._lines is None:
            self._lines = self.source.splitlines()
        raw = self._lines[line - 1] if 1 <= line <= len(self._lines) else b""
        column = len(raw[:offset].decode("utf-8", "replace")) + 1
        if fix is None:
            fix = rule.section("Use instead").split("\n\n")[0].replace("\n", " ")
        return Finding(
            self.path,
            line,
            column,
            rule.code,
            rule.name,
            rule.case,
            rule.severity.value,
            message,
            fix,
        )


_HANDLERS: dict[type[ast.AST], Callable[[FileContext, Any, Scope], None]] = {
    ast.Import: FileContext._import,
    ast.ImportFrom: FileContext._import_from,
    ast.Assign: FileContext._assign,
    ast.AnnAssign: FileContext._ann_assign,
    ast.AugAssign: FileContext._aug_assign,
    ast.NamedExpr: FileContext._named_expr,
    ast.For: FileContext._loop,
    ast.AsyncFor: FileContext._loop,
    ast.comprehension: FileContext._loop,
    ast.withitem: FileContext._withitem,
    ast.FunctionDef: FileContext._function,
    ast.AsyncFunctionDef: FileContext._function,
    ast.Call: FileContext._call,
    ast.Global: FileContext._global,
}
_SCOPE_TYPES = frozenset(_SCOPES)
_SKIPPED_FIELDS = frozenset({"ctx", "op", "ops"})


_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _fields(cls: type[ast.AST]) -> tuple[str, ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(f for f in cls._fields if f not in _SKIPPED_FIELDS)
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


class _NotConstant:
    def __repr__(self) -> str:
        return "NOT_CONSTANT"


NOT_CONSTANT = _NotConstant()


def _outside(parent: ast.AST, child: ast.AST) -> bool:
    """Whether `child` of a scope-creating `parent` is evaluated in the outer scope."""
    if isinstance(parent, _FUNCS):
        return child in parent.decorator_list or child is parent.returns or child is parent.args
    if isinstance(parent, ast.ClassDef):
        return child in parent.decorator_list or child in parent.bases
    if isinstance(parent, ast.Lambda):
        return child is parent.args
    return False


def _is_method(ctx: FileContext, function: FunctionNode) -> bool:
    return isinstance(ctx.scope_of.get(function), ast.ClassDef)


def _all_args(function: FunctionNode | ast.Lambda) -> list[ast.arg]:
    a = function.args
    extra = [x for x in (a.vararg, a.kwarg) if x is not None]
    return [*a.posonlyargs, *a.args, *a.kwonlyargs, *extra]


def _params(scope: ast.AST) -> frozenset[str]:
    if isinstance(scope, _FUNCS_OR_LAMBDA):
        return frozenset(a.arg for a in _all_args(scope))
    return frozenset()


def _returns(function: FunctionNode) -> list[ast.AST]:
    """The values of `function`'s own return statements (not nested functions')."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            out.append(node.value)
        elif not isinstance(node, (*_FUNCS, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))
    return out
