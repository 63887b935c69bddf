"""What a rule knows about the file it checks: names, scopes and intra-module data flow.

`FileContext` is built on the one-walk `Index` of the module's tree (parents, scopes,
nodes by type, import aliases, assignments per scope, functions and calls, ``self``
attributes), so `G` from ``from cryptography...aead import AESGCM as G`` resolves to the
full name.

Data flow is intra-module and bounded: `values()` follows a name to what was assigned to
it (in its scope, then enclosing ones, then the module), a parameter to the arguments of
literal call sites in this module and its default, and a call to a simple helper in this
module to what the helper returns. That is enough to see that ``nonce = make_nonce()``
with ``def make_nonce(): return int(time.time()).to_bytes(12, "big")`` is a clock, and
cheap enough to run on every file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from cryptorails.audit._finding import Finding
from cryptorails.audit._index import FunctionNode, Index, Scope, child_nodes

if TYPE_CHECKING:
    from cryptorails.audit._registry import Rule

__all__ = ["NOT_CONSTANT", "FileContext", "Scope", "child_nodes"]

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_FUNCS_OR_LAMBDA = (*_FUNCS, ast.Lambda)
_MAX_DEPTH = 6  # hops through names, parameters and helper returns
_MAX_NODES = 4000  # nodes visited by one walk_values


class FileContext(Index):
    """Index of one parsed module, plus the reporting hook for the rule being run."""

    def __init__(self, path: str, source: bytes, tree: ast.Module) -> None:
        self.path = path
        self.source = source
        self.rule: Rule | None = None
        self._lines: list[bytes] | None = None
        self._qualnames: dict[ast.AST, str | None] = {}
        self._params: dict[ast.AST, frozenset[str]] = {}
        self._assignments: dict[tuple[ast.AST | None, str], list[ast.AST]] = {}
        super().__init__(tree)

    @property
    def lowered(self) -> bytes:
        """The source in lower case (computed once)."""
        found = self.cache.get("lowered")
        if found is None:
            found = self.cache["lowered"] = self.source.lower()
        assert isinstance(found, bytes)
        return found

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
        key = (scope, name.id)  # the answer depends on nothing else: memoized
        found = self._assignments.get(key)
        if found is None:
            found = self._assignments[key] = self._assignments_from(scope, name.id)
        return found

    def _assignments_from(self, scope: ast.AST | None, name: str) -> list[ast.AST]:
        while scope is not None:
            found = self.assigned.get(scope, {}).get(name)
            if found:
                return found
            if isinstance(scope, ast.Module) or name in self.params(scope):
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
            stack.extend((child, depth) for child in child_nodes(node))

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


class _NotConstant:
    def __repr__(self) -> str:
        return "NOT_CONSTANT"


NOT_CONSTANT = _NotConstant()


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
            stack.extend(child_nodes(node))
    return out
