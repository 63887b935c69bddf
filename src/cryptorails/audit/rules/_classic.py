"""Shared matching for the classic weak-algorithm rules (CR0710-CR0715).

Constant folding for sizes and iteration counts (``600_000``, ``2**14``, ``KEY_BITS``),
"is this value a constant" for salts, hash-name normalisation, and the table of password
KDF entry points with the position and keyword of each argument.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import call_argument

__all__ = [
    "KDFS",
    "Arg",
    "Kdf",
    "argument",
    "from_random",
    "hash_family",
    "int_values",
    "kdf_of",
    "shallow_nodes",
    "static_terminal",
]

Arg = tuple[int | None, str | None]
_MAX_DEPTH = 8
_MAX_BITS = 4096
_RANDOM = frozenset(
    {
        "os.urandom",
        "secrets.token_bytes",
        "secrets.token_hex",
        "secrets.token_urlsafe",
        "random.SystemRandom.randbytes",
        "nacl.utils.random",
        "Crypto.Random.get_random_bytes",
        "Cryptodome.Random.get_random_bytes",
    }
)


def argument(call: ast.Call, spec: Arg | None) -> ast.expr | None:
    """The argument `spec` names in `call`, if passed."""
    return None if spec is None else call_argument(call, *spec)


# -- integers ---------------------------------------------------------------------


def int_values(ctx: FileContext, expr: ast.AST) -> list[tuple[int, ast.AST]]:
    """The integers `expr` may evaluate to, with the node each comes from (paths that
    do not fold to an integer are left out)."""
    out: list[tuple[int, ast.AST]] = []
    for value in ctx.values(expr):
        folded = _fold(ctx, value, 0)
        if folded is not None:
            out.append((folded, value))
    return out


def _fold(ctx: FileContext, node: ast.AST, depth: int) -> int | None:
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, ast.Constant):
        value = node.value
        return value if type(value) is int else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _fold(ctx, node.operand, depth + 1)
        if inner is None:
            return None
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp):
        left = _fold(ctx, node.left, depth + 1)
        right = _fold(ctx, node.right, depth + 1)
        if left is None or right is None:
            return None
        return _binop(node.op, left, right)
    if isinstance(node, ast.Name | ast.Attribute):
        values = ctx.values(node)
        if len(values) == 1 and values[0] is not node:
            return _fold(ctx, values[0], depth + 1)
    return None


def _binop(op: ast.operator, left: int, right: int) -> int | None:
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right if left.bit_length() + right.bit_length() <= _MAX_BITS else None
    if isinstance(op, ast.FloorDiv) and right:
        return left // right
    if isinstance(op, ast.Pow) and 0 <= right <= 256 and left.bit_length() * right <= _MAX_BITS:
        return int(left**right)
    if isinstance(op, ast.LShift) and 0 <= right <= _MAX_BITS:
        return left << right
    return None


# -- constants ----------------------------------------------------------------------

_STATIC_METHODS = frozenset({"encode", "decode", "ljust", "rjust", "zfill", "upper", "lower"})


def static_terminal(ctx: FileContext, expr: ast.AST) -> ast.AST | None:
    """A path of `expr` that is built only from literals (``b"salt"``,
    ``"app-salt".encode()``, ``SALT = b"..."``, ``bytes(16)``), or None."""
    for value in ctx.values(expr):
        if _static(ctx, value, 0):
            return value
    return None


def _static(ctx: FileContext, node: ast.AST, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | bytes)
    if isinstance(node, ast.JoinedStr):
        return all(
            isinstance(v, ast.Constant)
            or (isinstance(v, ast.FormattedValue) and _static(ctx, v.value, depth + 1))
            for v in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mult | ast.Mod):
        return _static_or_int(ctx, node.left, depth) and _static_or_int(ctx, node.right, depth)
    if isinstance(node, ast.Subscript):
        return _static(ctx, node.value, depth + 1)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _STATIC_METHODS:
            return _static(ctx, func.value, depth + 1)
        name = ctx.call_name(node)
        if name in ("bytes.fromhex", "bytes", "bytearray", "str.encode") and node.args:
            return all(_static_or_int(ctx, a, depth) for a in node.args)
        return False
    if isinstance(node, ast.Name | ast.Attribute):
        values = ctx.values(node)
        return (
            bool(values)
            and values[0] is not node
            and all(_static(ctx, v, depth + 1) for v in values)
        )
    return False


def _static_or_int(ctx: FileContext, node: ast.AST, depth: int) -> bool:
    return _static(ctx, node, depth + 1) or _fold(ctx, node, depth + 1) is not None


def from_random(ctx: FileContext, expr: ast.AST) -> bool:
    """Whether `expr` comes from the OS random generator (a key, not a password)."""
    return any(
        isinstance(n, ast.Call) and ctx.call_name(n) in _RANDOM for n in shallow_nodes(ctx, expr)
    )


# -- shallow data flow --------------------------------------------------------------

# Calls whose result is (a transformation of) their receiver and arguments: what flows
# into `password.encode()`, `"{}{}".format(salt, pw)`, `strtobool(os.getenv("X"))`.
_TRANSPARENT_METHODS = frozenset(
    {"encode", "decode", "format", "join", "lower", "upper", "strip", "lstrip", "rstrip"}
    | {"casefold", "replace", "hexdigest", "digest", "title", "removeprefix", "removesuffix"}
)
_TRANSPARENT_FUNCTIONS = frozenset(
    {"str", "bytes", "bytearray", "bool", "int", "float", "repr", "format", "strtobool"}
    | {"str2bool", "to_bool", "parse_bool", "as_bool", "literal_eval", "loads"}
)
_MAX_SHALLOW = 400


def shallow_nodes(ctx: FileContext, expr: ast.AST) -> Iterator[ast.AST]:
    """The nodes `expr` is computed from: like `FileContext.walk_values`, but entering
    a call's arguments only for transformations (``str()``, ``.encode()``,
    ``.format()``, ``strtobool()``), not for every function the value passed through.
    ``parse(request, settings.X)`` does not make its result a setting."""
    stack: list[tuple[ast.AST, int]] = [(expr, 0)]
    seen: set[int] = set()
    while stack and len(seen) < _MAX_SHALLOW:
        node, depth = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if depth < _MAX_DEPTH and _follows(node):
            stack.extend((v, depth + 1) for v in ctx.values(node) if v is not node)
        if isinstance(node, ast.Call):
            stack.append((node.func, depth))
            if _transparent(node):
                stack.extend((a, depth) for a in node.args)
                stack.extend((k.value, depth) for k in node.keywords)
        elif isinstance(node, ast.Attribute | ast.Subscript):
            stack.append((node.value, depth))
        elif isinstance(
            node,
            ast.BinOp
            | ast.BoolOp
            | ast.Compare
            | ast.UnaryOp
            | ast.IfExp
            | ast.JoinedStr
            | ast.FormattedValue
            | ast.Tuple
            | ast.List
            | ast.Set
            | ast.Starred
            | ast.Await
            | ast.NamedExpr,
        ):
            stack.extend((c, depth) for c in ast.iter_child_nodes(node))


def _follows(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return isinstance(node.ctx, ast.Load)
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name) and node.value.id == "self"
    return isinstance(node, ast.Call | ast.Await)


def _transparent(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr in _TRANSPARENT_METHODS or func.attr in _TRANSPARENT_FUNCTIONS
    return isinstance(func, ast.Name) and func.id in _TRANSPARENT_FUNCTIONS


# -- hash names ---------------------------------------------------------------------


def hash_family(ctx: FileContext, expr: ast.AST) -> str | None:
    """``SHA1``, ``SHA256``, ``MD5``... for a hash given by name (``"sha256"``), by class
    or instance (``hashes.SHA256()``), or by module (``Crypto.Hash.SHA256``,
    ``hashlib.sha256``); None when unknown or not on every path the same."""
    found: set[str] = set()
    for value in ctx.values(expr):
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            raw = value.value
        else:
            target = value.func if isinstance(value, ast.Call) else value
            name = ctx.qualname(target)
            if name is None:
                return None
            raw = name.rsplit(".", 1)[-1]
        family = raw.upper().replace("-", "").replace("_", "")
        found.add("SHA1" if family == "SHA" else family)
    return found.pop() if len(found) == 1 else None


# -- password KDFs ------------------------------------------------------------------


@dataclass(frozen=True)
class Kdf:
    """Where a password-hashing or password-based KDF call takes each parameter.

    `kind` is ``pbkdf2``, ``scrypt``, ``bcrypt`` (cost), ``argon2`` or ``crypt``.
    Defaults are the library's when the argument is left out.
    """

    kind: str
    password: Arg | None = None
    salt: Arg | None = None
    iterations: Arg | None = None
    default_iterations: int | None = None
    hash: Arg | None = None
    default_hash: str | None = None
    n: Arg | None = None
    r: Arg | None = None
    p: Arg | None = None
    memory: Arg | None = None
    default_memory: int | None = None


_CRYPTOGRAPHY_KDF = "cryptography.hazmat.primitives.kdf."
_PYCRYPTODOME = ("Crypto.Protocol.KDF.", "Cryptodome.Protocol.KDF.")

KDFS: dict[str, Kdf] = {
    "hashlib.pbkdf2_hmac": Kdf(
        "pbkdf2",
        password=(1, "password"),
        salt=(2, "salt"),
        iterations=(3, "iterations"),
        hash=(0, "hash_name"),
    ),
    f"{_CRYPTOGRAPHY_KDF}pbkdf2.PBKDF2HMAC": Kdf(
        "pbkdf2", salt=(2, "salt"), iterations=(3, "iterations"), hash=(0, "algorithm")
    ),
    **{
        f"{prefix}PBKDF2": Kdf(
            "pbkdf2",
            password=(0, "password"),
            salt=(1, "salt"),
            iterations=(3, "count"),
            default_iterations=1000,
            hash=(None, "hmac_hash_module"),
            default_hash="SHA1",
        )
        for prefix in _PYCRYPTODOME
    },
    "hashlib.scrypt": Kdf(
        "scrypt",
        password=(0, "password"),
        salt=(None, "salt"),
        n=(None, "n"),
        r=(None, "r"),
        p=(None, "p"),
    ),
    f"{_CRYPTOGRAPHY_KDF}scrypt.Scrypt": Kdf(
        "scrypt", salt=(0, "salt"), n=(2, "n"), r=(3, "r"), p=(4, "p")
    ),
    **{
        f"{prefix}scrypt": Kdf(
            "scrypt",
            password=(0, "password"),
            salt=(1, "salt"),
            n=(3, "N"),
            r=(4, "r"),
            p=(5, "p"),
        )
        for prefix in _PYCRYPTODOME
    },
    **{
        f"{prefix}bcrypt": Kdf(
            "bcrypt", password=(0, "password"), iterations=(1, "cost"), salt=(2, "salt")
        )
        for prefix in _PYCRYPTODOME
    },
    "bcrypt.hashpw": Kdf("bcrypt", password=(0, "password"), salt=(1, "salt")),
    "bcrypt.kdf": Kdf("bcrypt-pbkdf", password=(0, "password"), salt=(1, "salt")),
    "bcrypt.gensalt": Kdf("bcrypt", iterations=(0, "rounds"), default_iterations=12),
    **{
        f"argon2.low_level.{function}": Kdf(
            "argon2",
            password=(0, "secret"),
            salt=(1, "salt"),
            iterations=(2, "time_cost"),
            memory=(3, "memory_cost"),
        )
        for function in ("hash_secret", "hash_secret_raw")
    },
    "argon2.PasswordHasher": Kdf(
        "argon2",
        iterations=(0, "time_cost"),
        default_iterations=3,
        memory=(1, "memory_cost"),
        default_memory=65536,
    ),
    **{
        f"{_CRYPTOGRAPHY_KDF}argon2.{cls}": Kdf(
            "argon2",
            salt=(None, "salt"),
            iterations=(None, "iterations"),
            memory=(None, "memory_cost"),
        )
        for cls in ("Argon2id", "Argon2i", "Argon2d")
    },
    "crypt.crypt": Kdf("crypt", password=(0, "word"), salt=(1, "salt")),
}

# passlib: `pbkdf2_sha256.using(rounds=..., salt=...)`, `.hash(secret, salt=...)`.
_PASSLIB_PBKDF2 = {"pbkdf2_sha1": "SHA1", "pbkdf2_sha256": "SHA256", "pbkdf2_sha512": "SHA512"}


def kdf_of(ctx: FileContext, call: ast.Call) -> tuple[str, Kdf] | None:
    """The qualified name and parameter table of a password KDF call, or None."""
    name = ctx.call_name(call)
    if name is None:
        return None
    kdf = KDFS.get(name)
    if kdf is not None:
        return name, kdf
    if name.startswith("passlib.") and name.rsplit(".", 1)[-1] in ("using", "hash", "encrypt"):
        handler = name.split(".")[-2]
        family = _PASSLIB_PBKDF2.get(handler)
        if family is not None:
            return name, Kdf(
                "pbkdf2", salt=(None, "salt"), iterations=(None, "rounds"), default_hash=family
            )
        return name, Kdf("passlib", salt=(None, "salt"))
    return None
