"""Shared vocabulary for the JWT rules (CR0202-CR0205): which calls decode, which
arguments pin the algorithm or switch verification off, and which values come from a
token's unverified header.

PyJWT 2 signature: ``decode(jwt, key="", algorithms=None, options=None, ...)``; PyJWT 1
had ``decode(jwt, key="", verify=True, algorithms=None, options=None)``, so a third
positional ``False`` is the old way of turning verification off. python-jose:
``jwt.decode(token, key, algorithms=None, options=None, ...)`` and
``jws.verify(token, key, algorithms, verify=True)``.
"""

from __future__ import annotations

import ast

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import call_argument

__all__ = [
    "HEADER_FIELDS",
    "algorithm_names",
    "algorithms_arg",
    "decode_flavor",
    "families",
    "from_unverified_header",
    "header_field",
    "is_unverified_header",
    "verification_off",
    "verifies",
]

_PYJWT = frozenset(
    f"jwt.{path}{verb}"
    for path in ("", "api_jwt.", "PyJWT.", "api_jwt.PyJWT.", "api_jws.", "PyJWS.", "api_jws.PyJWS.")
    for verb in ("decode", "decode_complete")
)
_JOSE = frozenset({"jose.jwt.decode", "jose.jws.verify"})
_HEADER_CALLS = frozenset(
    {
        "jwt.get_unverified_header",
        "jwt.api_jws.get_unverified_header",
        "jwt.PyJWS.get_unverified_header",
        "jwt.api_jws.PyJWS.get_unverified_header",
        "jose.jwt.get_unverified_header",
        "jose.jwt.get_unverified_headers",
        "jose.jws.get_unverified_header",
        "jose.jws.get_unverified_headers",
    }
)
_B64 = ("b64decode", "urlsafe_b64decode", "base64url_decode", "b64url_decode", "urlsafe_b64")
_ALL_ALGORITHMS = ("get_default_algorithms", "get_algorithms")
HEADER_FIELDS = frozenset({"kid", "alg", "jku", "x5u", "jwk", "x5c"})


def decode_flavor(call: ast.AST, ctx: FileContext) -> str | None:
    """'pyjwt' or 'jose' if `call` decodes (verifies) a JWT, else None."""
    name = ctx.call_name(call)
    if name in _PYJWT:
        return "pyjwt"
    if name in _JOSE:
        return "jose"
    return None


def algorithms_arg(call: ast.Call) -> ast.expr | None:
    """The ``algorithms=`` argument (third positional unless it is PyJWT 1's `verify`)."""
    value = call_argument(call, None, "algorithms")
    if value is not None:
        return value
    third = call_argument(call, 2, None)
    if isinstance(third, ast.Constant) and isinstance(third.value, bool):
        return call_argument(call, 3, None)
    return third


def verification_off(call: ast.Call, ctx: FileContext) -> str | None:
    """How a decode call switches signature verification off, or None."""
    for keyword in call.keywords:
        if keyword.arg == "verify" and ctx.literal(keyword.value) is False:
            return "verify=False"
    third = call_argument(call, 2, None)
    if isinstance(third, ast.Constant) and third.value is False:
        return "verify=False"
    if ctx.call_name(call) == "jose.jws.verify":
        fourth = call_argument(call, 3, None)
        if fourth is not None and ctx.literal(fourth) is False:
            return "verify=False"
    options = call_argument(call, None, "options")
    if options is None and not isinstance(third, ast.Constant):
        options = call_argument(call, 3, None)
    if options is not None and _signature_option_off(options, ctx):
        return 'options={"verify_signature": False}'
    names = algorithm_names(algorithms_arg(call), ctx)
    if names and any(n.lower() == "none" for n in names):
        return 'algorithms=["none"]'
    return None


def verifies(call: ast.Call, ctx: FileContext) -> bool:
    """A decode call that checks the signature."""
    return decode_flavor(call, ctx) is not None and verification_off(call, ctx) is None


def _signature_option_off(options: ast.expr, ctx: FileContext) -> bool:
    for value in ctx.walk_values(options):
        if isinstance(value, ast.Dict):
            for key, item in zip(value.keys, value.values, strict=True):
                if _is_str(key, "verify_signature") and ctx.literal(item) is False:
                    return True
        elif isinstance(value, ast.Call) and ctx.call_name(value) == "dict":
            for k in value.keywords:
                if k.arg == "verify_signature" and ctx.literal(k.value) is False:
                    return True
        elif isinstance(value, ast.Name) and _item_set_false(value, ctx):
            return True
    return False


def _item_set_false(name: ast.Name, ctx: FileContext) -> bool:
    """``options["verify_signature"] = False`` on the same variable in the same scope."""
    scope = ctx.scope_of.get(name)
    for node in ctx.by_type.get(ast.Assign, ()):
        assert isinstance(node, ast.Assign)
        if ctx.scope_of.get(node) is not scope or ctx.literal(node.value) is not False:
            continue
        for target in node.targets:
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == name.id
                and _is_str(target.slice, "verify_signature")
            ):
                return True
    return False


def _is_str(node: ast.AST | None, text: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == text


def algorithm_names(expr: ast.AST | None, ctx: FileContext) -> list[str] | None:
    """The algorithm names `expr` may hold, or None when they cannot be known. The names
    of every registered algorithm are returned as ``["*"]``."""
    if expr is None:
        return None
    names: list[str] = []
    for value in ctx.values(expr):
        found = _names_in(value, ctx)
        if found is None:
            return None
        names.extend(found)
    return names


def _names_in(value: ast.AST, ctx: FileContext) -> list[str] | None:
    if isinstance(value, ast.Constant):
        return [value.value] if isinstance(value.value, str) else None
    if isinstance(value, ast.List | ast.Tuple | ast.Set):
        out: list[str] = []
        for element in value.elts:
            literal = ctx.literal(element)
            if not isinstance(literal, str):
                return None
            out.append(literal)
        return out
    for node in ast.walk(value):
        if isinstance(node, ast.Call) and (ctx.call_name(node) or "").endswith(_ALL_ALGORITHMS):
            return ["*"]
    if isinstance(value, ast.Call) and ctx.call_name(value) in ("list", "tuple", "set"):
        return _names_in(value.args[0], ctx) if value.args else None
    return None


def families(names: list[str]) -> set[str]:
    """'hmac', 'public-key' and 'none' among algorithm names (``*`` is all three)."""
    out: set[str] = set()
    for name in names:
        upper = name.upper()
        if name == "*":
            out |= {"hmac", "public-key", "none"}
        elif upper.startswith("HS"):
            out.add("hmac")
        elif upper.startswith(("RS", "ES", "PS")) or upper in ("EDDSA", "ED25519", "ED448"):
            out.add("public-key")
        elif upper == "NONE":
            out.add("none")
    return out


def is_unverified_header(node: ast.AST, ctx: FileContext) -> bool:
    """Whether `node` produces a JWT header that has not been verified yet."""
    if isinstance(node, ast.Call):
        name = ctx.call_name(node) or ""
        if name in _HEADER_CALLS:
            return True
        return _manual_header(node, ctx)
    if isinstance(node, ast.Attribute) and node.attr == "jose_header":
        return True  # jwcrypto: readable right after deserialize(), before verify()
    if isinstance(node, ast.Subscript) and _is_str(node.slice, "header"):
        return any(
            decode_flavor(v, ctx) is not None
            and isinstance(v, ast.Call)
            and verification_off(v, ctx) is not None
            for v in ctx.values(node.value)
        )
    return False


def _manual_header(call: ast.Call, ctx: FileContext) -> bool:
    """``json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))``."""
    if not (ctx.call_name(call) or "").endswith("loads") or not call.args:
        return False
    decoded = split = False
    for value in ctx.walk_values(call.args[0]):
        if isinstance(value, ast.Call):
            name = ctx.call_name(value) or ""
            if name.endswith(_B64):
                decoded = True
            elif (
                isinstance(value.func, ast.Attribute)
                and value.func.attr in ("split", "rsplit", "partition")
                and value.args
                and _is_str(value.args[0], ".")
            ):
                split = True
        elif isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Constant):
            inner = value.value
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Attribute)
                and inner.func.attr == "split"
                and value.slice.value != 0
            ):
                return False  # the payload or signature segment, not the header
    return decoded and split


def from_unverified_header(expr: ast.AST, ctx: FileContext) -> bool:
    """Whether `expr` is (or is read out of) an unverified header."""
    return any(is_unverified_header(v, ctx) for v in ctx.walk_values(expr))


def header_field(node: ast.AST, ctx: FileContext) -> str | None:
    """``header["kid"]`` / ``header.get("alg")`` on an unverified header: the field."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        field, base = node.slice.value, node.value
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        field, base = node.args[0].value, node.func.value
    else:
        return None
    if not isinstance(field, str) or field not in HEADER_FIELDS:
        return None
    return field if from_unverified_header(base, ctx) else None
