"""Plain configuration and the conditions around a verification switch (CR0701, CR0703).

What counts as a plain config read (the environment, settings objects, config files),
which ``if`` decides a switch, and whether that ``if`` merely implements a helper's
option (``def make(verify=True): if not verify: ...``) rather than a decision.
"""

from __future__ import annotations

import ast
import re

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import identifier
from cryptorails.audit.rules._classic import shallow_nodes
from cryptorails.audit.rules._tls import Switch

__all__ = [
    "OVERRIDE",
    "config_guard",
    "config_reads",
    "from_override",
    "guard_of",
    "is_config_read",
    "parameter_guard",
    "test_reads",
]

_BOUNDARY = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)


class _Missing:
    pass


def _const(v: ast.AST | None) -> object:
    return v.value if isinstance(v, ast.Constant) else _Missing


# Receivers that hold configuration: `settings.X`, `app.config["X"]`, `self.cfg.x`,
# `env.bool("X")` (django-environ / environs), `CONFIG.x`. Only these exact names:
# `proxy_config` or `tls_config` are API objects, not settings.
_CONFIG_NAMES = frozenset(
    {"settings", "config", "conf", "cfg", "configuration", "env", "environ", "environment"}
    | {"app_config", "app_settings", "django_settings", "global_settings", "global_config"}
    | {"site_config", "site_settings", "app_conf", "config_parser", "configparser"}
)
_CONFIG_ROOTS = ("django.conf.settings", "decouple.", "environ.", "environs.", "dynaconf.")
_CONFIG_CALLS = frozenset({"os.getenv", "os.getenvb", "decouple.config", "dotenv.get_key"})
_CONFIG_METHODS = frozenset({"getboolean", "getbool", "get_bool", "as_bool"})
_READ_METHODS = frozenset({"get", "bool", "str", "int", "value", "__getitem__"})


def _config_receiver(ctx: FileContext, node: ast.AST) -> bool:
    name = ctx.qualname(node) or ""
    if name.startswith(("logging.", "cryptorails.")):
        return False
    if name == "os.environ" or name.startswith(_CONFIG_ROOTS):
        return True
    return (identifier(node) or "").lstrip("_") in _CONFIG_NAMES


def is_config_read(ctx: FileContext, node: ast.AST) -> tuple[str, str] | None:
    """``(text, key)`` when `node` reads a value from the environment or a settings or
    config object (``key`` is the setting's name, '' when unknown); else None."""
    if isinstance(node, ast.Call):
        name = ctx.call_name(node) or ""
        func = node.func
        key = _first_str(node)
        if name in _CONFIG_CALLS or name.startswith(("os.environ.", *_CONFIG_ROOTS)):
            return name, key
        if isinstance(func, ast.Attribute):
            if func.attr in _CONFIG_METHODS:
                return f"{identifier(func.value) or '...'}.{func.attr}()", key
            if func.attr in _READ_METHODS and _config_receiver(ctx, func.value):
                return f"{identifier(func.value)}.{func.attr}()", key
        if name == "getattr" and node.args and _config_receiver(ctx, node.args[0]):
            second = _const(node.args[1]) if len(node.args) > 1 else None
            return "getattr()", second if isinstance(second, str) else ""
        return None
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        if _config_receiver(ctx, node.value):
            index = _const(node.slice)
            return f"{identifier(node.value)}[...]", index if isinstance(index, str) else ""
        return None
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Load)
        and not isinstance(node.value, ast.Call)
        and _config_receiver(ctx, node.value)
        and not _is_callee(ctx, node)
    ):
        return f"{identifier(node.value)}.{node.attr}", node.attr
    return None


def _is_callee(ctx: FileContext, node: ast.AST) -> bool:
    parent = ctx.parent(node)
    return isinstance(parent, ast.Call) and parent.func is node


def _first_str(call: ast.Call) -> str:
    """The string arguments of a config read (``getboolean("tls", "verify")``)."""
    return " ".join(str(_const(a)) for a in call.args if isinstance(_const(a), str))


def from_override(ctx: FileContext, node: ast.AST) -> bool:
    """Whether `node` asks `cryptorails.overrides` (signed, expiring approvals)."""
    if not isinstance(node, ast.Call):
        return False
    name = ctx.call_name(node) or ""
    if name.startswith("cryptorails."):
        return True
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "active"
        and "override" in (identifier(func.value) or "")
    )


def config_reads(ctx: FileContext, expr: ast.AST) -> list[tuple[str, str]] | None:
    """The config reads `expr` depends on; None when it depends on a cryptorails
    override (an approved, expiring switch is what the rules recommend)."""
    found: list[tuple[str, str]] = []
    for node in shallow_nodes(ctx, expr):
        if from_override(ctx, node):
            return None
        read = is_config_read(ctx, node)
        if read is not None:
            found.append(read)
    return found


OVERRIDE = "a cryptorails override"


def test_reads(ctx: FileContext, test: ast.AST) -> str | None:
    """What a condition reads: the first config read, `OVERRIDE` when it asks a
    cryptorails override, None when neither."""
    reads = config_reads(ctx, test)
    if reads is None:
        return OVERRIDE
    return reads[0][0] if reads else None


def config_guard(ctx: FileContext, node: ast.AST) -> str | None:
    """What the test of an enclosing ``if`` (statement or expression) reads, when `node`
    sits in one of its branches within its function (see `test_reads`)."""
    child = node
    for parent in ctx.ancestors(node):
        if isinstance(parent, _BOUNDARY):
            return None
        if isinstance(parent, ast.If | ast.IfExp | ast.While) and child is not parent.test:
            read = test_reads(ctx, parent.test)
            if read is not None:
                return read
        child = parent
    return None


def guard_of(
    ctx: FileContext, switch: Switch, value: ast.AST, tests: tuple[ast.AST, ...]
) -> str | None:
    """What decides that `value` is used at `switch`: a config read or `OVERRIDE` from a
    conditional expression's test, an ``if`` around the value's assignment, or an ``if``
    around the switch itself; None when nothing configurable decides."""
    for test in tests:
        read = test_reads(ctx, test)
        if read is not None:
            return read
    return config_guard(ctx, value) or config_guard(ctx, switch.at)


def parameter_guard(ctx: FileContext, node: ast.AST) -> bool | None:
    """For a switch inside ``if <test on a parameter>:`` (``if verify is False:``, ``if
    not verify:``): whether a value this module passes for the parameter (or its
    default) takes the branch `node` is in. None when no such ``if`` encloses `node`.

    A helper that turns verification off only when its caller asks is an option, not a
    decision; the decision is wherever a constant asks for it.
    """
    child = node
    for parent in ctx.ancestors(node):
        if isinstance(parent, _BOUNDARY):
            return None
        if isinstance(parent, ast.If | ast.IfExp) and child is not parent.test:
            taken = _taken(ctx, parent.test, in_body=_in_body(parent, child))
            if taken is not None:
                return taken
        child = parent
    return None


def _in_body(parent: ast.If | ast.IfExp, child: ast.AST) -> bool:
    if isinstance(parent, ast.IfExp):
        return child is parent.body
    return child in parent.body


def _taken(ctx: FileContext, test: ast.AST, *, in_body: bool) -> bool | None:
    """Whether some constant passed for the parameter `test` reads makes the branch
    run. None when `test` reads no parameter (nor a ``self`` option); False when it
    reads one in a way that cannot be evaluated, which is treated as an option."""
    names = [n for n in ast.walk(test) if isinstance(n, ast.Name) and n.id not in ("self", "cls")]
    if not any(_names_parameter(ctx, n) for n in names) and not _reads_option(test):
        return None
    param = ctx.parameter_of(names[0]) if len(names) == 1 else None
    if param is None:
        return False  # depends on an option in a way this cannot evaluate
    values = [_const(v) for v in ctx.argument_values(*param)]
    for value in values:
        if value is _Missing:
            continue
        result = _evaluate(test, names[0].id, value)
        if result is not None and result == in_body:
            return True
    return False


_OPTION = re.compile(r"(^|_)(verify|insecure|cert_reqs|check_hostname|validate|ssl|tls)($|_)")


def _reads_option(test: ast.AST) -> bool:
    """Whether `test` reads an attribute of ``self`` named as a verification option
    (``if self.verify_tls:``): the class implements its caller's choice."""
    return any(
        isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id == "self"
        and _OPTION.search(identifier(n) or "")
        for n in ast.walk(test)
    )


def _names_parameter(ctx: FileContext, name: ast.Name) -> bool:
    """Whether `name` is a parameter of its function (even if reassigned there)."""
    function = ctx.enclosing_function(name)
    if function is None or name.id in ("self", "cls"):
        return False
    a = function.args
    every = [*a.posonlyargs, *a.args, *a.kwonlyargs]
    return any(arg.arg == name.id for arg in every)


def _evaluate(test: ast.AST, name: str, value: object) -> bool | None:
    if isinstance(test, ast.Name) and test.id == name:
        return bool(value)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _evaluate(test.operand, name, value)
        return None if inner is None else not inner
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.left, ast.Name)
        and test.left.id == name
        and isinstance(test.comparators[0], ast.Constant)
    ):
        other, op = test.comparators[0].value, test.ops[0]
        if isinstance(op, ast.Is):
            return value is other
        if isinstance(op, ast.IsNot):
            return value is not other
        if isinstance(op, ast.Eq):
            return bool(value == other)
        if isinstance(op, ast.NotEq):
            return bool(value != other)
    return None
