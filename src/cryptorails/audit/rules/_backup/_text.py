"""Paths as text, and which paths hold keys.

Paths are compared as text: `path_text` renders ``Path(DATA) / "keys"``,
``os.path.join(base, "keys")`` and ``f"{base}/keys"`` to the same string, with names it
cannot resolve kept as ``{name}`` placeholders, so two expressions built from the same
setting compare equal even when the setting's value is unknown.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import identifier

__all__ = ["is_key_path", "last_name", "on_self", "path_text", "scope_of_call", "strings_in"]

_KEY_DIRS = frozenset(
    {
        "keys",
        "keystore",
        "keystores",
        "keyring",
        "keyrings",
        "secrets",
        ".ssh",
        ".gnupg",
        "kek",
        "keks",
        "private_keys",
        "private-keys",
        "letsencrypt",
    }
)
_PUBLIC_PEM = re.compile(r"cert|chain|bundle|(^|[^a-z])ca([^a-z]|$)|pub|crt")
_KEY_EXTS = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".kek", ".ppk", ".p8")
_KEY_FILES = re.compile(
    r"^(id_rsa|id_dsa|id_ecdsa|id_ed25519|\.env|\.env\.(local|prod|production|staging)"
    r"|\.netrc|\.pgpass|\.htpasswd|secring\.gpg|credentials\.json|service[-_]account.*\.json"
    r"|secrets?\.(ya?ml|json|toml|ini|env)|(kek|master[-_.]?key|private[-_.]?key)(\..*)?)$"
)
# Strings that show a backup being encrypted: a command-line tool or a flag.


def scope_of_call(ctx: FileContext, node: ast.AST) -> ast.AST:
    """The function around `node`, or the module for top-level code."""
    return ctx.enclosing_function(node) or ctx.tree


def last_name(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


def on_self(func: ast.Attribute) -> bool:
    """Whether `func` is ``self.x``: its qualified name is that of what ``x`` was
    assigned; any other attribute's ends with the attribute (a cheap test by name)."""
    return isinstance(func.value, ast.Name) and func.value.id == "self"


# -- text of expressions ----------------------------------------------------------------


class _State:
    """Work left and results so far for one `path_text` evaluation: names can fan out
    to many assignments, each built from more names, so the walk is memoised and
    capped."""

    __slots__ = ("left", "memo")

    def __init__(self) -> None:
        self.left = 200
        self.memo: dict[int, str | None] = {}


def path_text(ctx: FileContext, expr: ast.AST | None) -> str | None:
    """A path expression as text, unresolvable names as ``{name}``; None if unknown."""
    return _eval(ctx, expr, _State())


def _eval(ctx: FileContext, expr: ast.AST | None, state: _State) -> str | None:
    if expr is None:
        return None
    key = id(expr)
    if key in state.memo:
        return state.memo[key]
    if state.left <= 0:
        return None
    state.left -= 1
    state.memo[key] = None  # a cycle through assignments evaluates to "unknown"
    text = _text(ctx, expr, state)
    if text is None and isinstance(expr, ast.Attribute | ast.Subscript):
        # Unknown, but the same expression text stands for the same path wherever it
        # is written (`Path(__file__).parent.parent` in two places).
        shown = ast.unparse(expr)
        text = "{" + shown + "}" if len(shown) <= 80 and "\n" not in shown else None
    if text is not None:
        text = re.sub(r"/{2,}", "/", text)
        text = text.rstrip("/") or "/"
    state.memo[key] = text
    return text


def _text(ctx: FileContext, expr: ast.AST, state: _State) -> str | None:
    if isinstance(expr, ast.Constant):
        return expr.value if isinstance(expr.value, str) else None
    if isinstance(expr, ast.JoinedStr):
        parts = []
        for value in expr.values:
            if isinstance(value, ast.FormattedValue):
                parts.append(_eval(ctx, value.value, state) or "{?}")
            else:
                parts.append(_text(ctx, value, state) or "")
        return "".join(parts)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
        return _text(ctx, expr.left, state)  # "cmd > %s" % path: keep the template
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div | ast.Add):
        left = _eval(ctx, expr.left, state)
        right = _eval(ctx, expr.right, state)
        if left is None or right is None:
            return None
        return f"{left}/{right}" if isinstance(expr.op, ast.Div) else left + right
    if isinstance(expr, ast.Call):
        return _call_text(ctx, expr, state)
    if isinstance(expr, ast.Attribute) and expr.attr == "parent":
        inner = _eval(ctx, expr.value, state)
        return inner.rsplit("/", 1)[0] if inner and "/" in inner else None
    if isinstance(expr, ast.Subscript):
        base = ctx.qualname(expr.value)
        key = expr.slice.value if isinstance(expr.slice, ast.Constant) else None
        if base and isinstance(key, str):
            return "{" + f"{base}.{key}" + "}"
        if isinstance(key, int) or isinstance(expr.slice, ast.UnaryOp | ast.Slice):
            return _eval(ctx, expr.value, state)  # one of a list of paths: paths[-1]
        return None
    if isinstance(expr, ast.Name | ast.Attribute):
        values = [v for v in ctx.values(expr) if v is not expr]
        if values:
            texts = {_eval(ctx, v, state) for v in values}
            return texts.pop() if len(texts) == 1 else None
        name = ctx.qualname(expr)
        return "{" + name + "}" if name else None
    return None


def _call_text(ctx: FileContext, call: ast.Call, state: _State) -> str | None:
    name = ctx.call_name(call) or ""
    last = last_name(name)
    func = call.func
    receiver = func.value if isinstance(func, ast.Attribute) else None
    args = [a for a in call.args if not isinstance(a, ast.Starred)]
    if name in ("os.path.join", "posixpath.join") or last in ("Path", "PurePath", "PosixPath"):
        parts = [_eval(ctx, a, state) for a in args]
        if not parts or any(p is None for p in parts):
            return None
        return "/".join(p for p in parts if p is not None)
    if last == "joinpath" and receiver is not None:
        parts = [_eval(ctx, a, state) for a in [receiver, *args]]
        if any(p is None for p in parts):
            return None
        return "/".join(p for p in parts if p is not None)
    if name in ("os.getenv", "os.environ.get") and args:
        key = args[0].value if isinstance(args[0], ast.Constant) else None
        return "{" + f"os.environ.{key}" + "}" if isinstance(key, str) else None
    if last == "home":
        return "~"
    if name in ("sorted", "list", "reversed", "max", "min", "next", "iter", "open") and args:
        return _eval(ctx, args[0], state)
    if name in ("str", "os.fspath") or last in (
        "abspath",
        "realpath",
        "normpath",
        "expanduser",
        "resolve",
        "absolute",
    ):
        inner = args[0] if args else receiver
        return _eval(ctx, inner, state) if inner is not None else None
    if (
        last in ("glob", "rglob", "iterdir")
        and receiver is not None
        and not name.startswith("glob.")
    ):
        base = _eval(ctx, receiver, state)
        pattern = _eval(ctx, args[0], state) if args else "*"
        return f"{base}/{pattern}" if base is not None and pattern is not None else None
    if name in ("os.walk", "os.listdir", "os.scandir") and args:
        base = _eval(ctx, args[0], state)
        return f"{base}/*" if base is not None else None
    if name in ("glob.glob", "glob.iglob") and args:
        return _eval(ctx, args[0], state)
    if last == "dirname" and args:
        inner_text = _eval(ctx, args[0], state)
        return inner_text.rsplit("/", 1)[0] if inner_text and "/" in inner_text else None
    if last == "format" and receiver is not None:
        return _text(ctx, receiver, state)
    return None


def strings_in(ctx: FileContext, expr: ast.AST) -> Iterator[str]:
    """String constants and names inside `expr` and what it flows from; not the names
    of functions called on the way (``marshal.dumps`` says nothing about the data)."""
    for node in ctx.walk_values(expr):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.Name | ast.Attribute | ast.arg):
            parent = ctx.parent(node)
            if isinstance(parent, ast.Call) and parent.func is node:
                continue
            name = identifier(node)
            if name:
                yield name


def is_key_path(text: str | None) -> bool:
    """Whether a path (or glob) names a key file or a key directory."""
    if not text:
        return False
    parts = [p for p in text.lower().split("/") if p]
    if not parts:
        return False
    base = parts[-1]
    if _KEY_FILES.match(base):
        return True
    if base.endswith(_KEY_EXTS):
        # A PEM file is as often a certificate or a public key as a private key.
        return not (base.endswith(".pem") and _PUBLIC_PEM.search(base))
    if any(p in _KEY_DIRS for p in parts):
        return True
    return any(a == "ssl" and b == "private" for a, b in itertools.pairwise(parts))
