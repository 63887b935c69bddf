"""CR0501: a MAC, signature, token or password hash compared in variable time."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import NOT_CONSTANT, FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._leak import (
    is_hash_name,
    is_mac_call,
    lexer_token,
    name_category,
    names_non_secret,
    raw_name,
    secret_literal_category,
    words,
)
from cryptorails.audit.rules._prefilter import SECRET_GATE, SECRET_NAMES, SIG, SIGN, group

_STRONG = frozenset({"password", "token", "secret", "key", "authorization"})
# Names that need a second opinion: `signature` is also `inspect.signature` and a
# store's version stamp, `digest` is also a file checksum, `key` a dictionary key.
_WEAK = frozenset({"signature", "digest", "weak-key"})
_LABEL = {
    "password": "a password",
    "token": "a token",
    "secret": "a secret",
    "key": "a key",
    "authorization": "an Authorization header",
    "signature": "a signature or MAC",
    "digest": "a digest",
    "weak-key": "a key",
}
_PASS_THROUGH_METHODS = frozenset(
    {"encode", "decode", "lower", "upper", "strip", "rstrip", "lstrip", "hex", "casefold"}
)
_PASS_THROUGH_CALLS = frozenset(
    {"str", "bytes", "bytearray", "bytes.fromhex", "base64.b64encode", "base64.b64decode",
     "base64.urlsafe_b64encode", "base64.urlsafe_b64decode", "base64.b16encode",
     "base64.b32encode", "binascii.hexlify", "binascii.unhexlify", "binascii.b2a_hex"}
)  # fmt: skip
_TRIVIAL_CALLS = frozenset({"len", "type", "bool", "int", "ord", "isinstance", "id", "hash"})
# Containers an id is looked up in to refuse it (revocation, replay): a set lookup, not
# an authentication compare.
_DENYLIST_WORDS = frozenset(
    {"revoked", "revocation", "blacklist", "blocklist", "denylist", "denied", "seen", "used",
     "consumed", "processed", "replay", "cache", "banned", "blocked", "expired"}
)  # fmt: skip
_SIGNING_WORDS = frozenset({"sign", "mac", "hmac"})
_PASSWORD_HASHERS = frozenset(
    {"bcrypt.hashpw", "crypt.crypt", "hashlib.scrypt", "hashlib.pbkdf2_hmac", "scrypt.hash"}
)
_COMPARING = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)
_PAIRED_FIELDS = frozenset(
    {"new", "old", "confirm", "confirmation", "repeat", "again", "retype", "current"}
)


@rule(
    code="CR0501",
    name="non-constant-time-compare",
    case=5,
    severity=Severity.HIGH,
    cwe=208,
    nodes=(ast.Compare, ast.Call),
    # `_evidence`: a secret-named side (`SECRET_NAMES`), a signature-named one compared
    # with another, or a MAC, password hash or `sign` helper it flows from.
    requires=[
        group(SECRET_GATE, "sig", "mac", "crypt"),
        group(SECRET_NAMES, SIG, SIGN, "mac", "crypt"),
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds `==`, `!=`, `in` and `startswith` on MACs, signatures, tokens and keys.

    ## What it does
    Reports equality, membership and prefix tests where one side is a secret used for
    authentication: a value named like a signature, MAC, token, API key, password or
    password hash, an `Authorization`/`X-Signature` header, or a value computed by
    `hmac.new(...).hexdigest()`, `hmac.digest` or a hash of secret material, and the
    other side is not a constant such as `None`, `""` or a short literal; `in` reports a
    token, key or MAC searched in a list or set of valid ones. Status codes, token
    types, lengths, ids, algorithm names, hashes kept for lookup, revocation lists,
    common-password lists, `__eq__` methods, a parser's tokens and a lock's owner token
    are not secret compares and are not reported.

    ## Why is this bad?
    `==` on `str` and `bytes` stops at the first differing byte, so the time it takes
    grows with the length of the matching prefix. By timing many requests an attacker
    learns a valid MAC or token one byte at a time (remote timing attacks on HMAC
    checks have been shown across networks), then forges webhooks or session tokens
    without knowing the key.

    ## Example
    ```python
    expected = hmac.new(secret, body, "sha256").hexdigest()
    if request.headers["X-Signature"] != expected:
        abort(401)
    ```

    ## Use instead
    Compare with `hmac.compare_digest(expected, received)` (bytes, or ASCII `str`), or
    let `cryptorails.webhooks.WebhookVerifier` / `cryptorails.TokenVerifier` do the
    whole check; keys held in `cryptorails.Secret` compare in constant time with `==`.
    For API keys, look up a hash of the presented key instead of comparing to each key.

    ## References
    - CWE-208: Observable Timing Discrepancy
    - Crosby, Wallach, Riedi, "Opportunities and Limits of Remote Timing Attacks" (2009)
    - Python documentation, `hmac.compare_digest`
    """
    if isinstance(node, ast.Call):
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in ("startswith", "endswith")):
            return  # only prefix tests compare (cheap test before anything else)
    elif not any(isinstance(op, _COMPARING) for op in getattr(node, "ops", ())):
        return
    function = ctx.enclosing_function(node)
    if function is not None and function.name in ("__eq__", "__ne__", "__hash__"):
        return  # object equality, not an authentication check
    if isinstance(node, ast.Compare):
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            found = _check_pair(ctx, left, op, right)
            if found is not None:
                yield ctx.report(node, found)
                return
            left = right
    elif isinstance(node, ast.Call):
        found = _check_prefix(ctx, node)
        if found is not None:
            yield ctx.report(node, found)


def _check_pair(ctx: FileContext, left: ast.expr, op: ast.cmpop, right: ast.expr) -> str | None:
    if isinstance(op, ast.Eq | ast.NotEq):
        if _trivial(ctx, left) or _trivial(ctx, right) or _paired_fields(left, right):
            return None
        label = _evidence(ctx, left, right) or _evidence(ctx, right, left)
        if label is None:
            return None
        symbol = "==" if isinstance(op, ast.Eq) else "!="
        return f"`{symbol}` on {label} stops at the first differing byte; timing leaks it"
    if isinstance(op, ast.In | ast.NotIn):
        if _trivial(ctx, left) or _denylist(right) or _constant_container(ctx, right):
            return None
        if (raw_name(left) or "").isupper():
            return None  # a constant (an environment variable's name) looked up in a mapping
        if _category(left) == "password":
            return None  # a password in a list is a policy check (common passwords)
        if _category(left) not in _STRONG and _flow(ctx, left) is None:
            return None  # `key in token`: a field name looked up in a mapping
        label = _evidence(ctx, left, right)
        if label is None:
            return None
        return f"`in` compares {label} with `==` element by element; timing leaks it"
    return None


def _check_prefix(ctx: FileContext, call: ast.Call) -> str | None:
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in ("startswith", "endswith")):
        return None
    if len(call.args) != 1 or call.keywords:
        return None
    arg = call.args[0]
    if _trivial(ctx, arg) or isinstance(arg, ast.Tuple) or _trivial(ctx, func.value):
        return None
    if _constant_valued(ctx, arg):
        return None  # a fixed, public prefix (`SECRET_KEY_INSECURE_PREFIX`)
    label = _evidence(ctx, func.value, arg) or _evidence(ctx, arg, func.value)
    if label is None:
        return None
    return f"`{func.attr}` on {label} stops at the first differing byte; timing leaks it"


def _evidence(ctx: FileContext, side: ast.expr, other: ast.expr) -> str | None:
    """Why `side` is secret enough to need a constant-time compare (against `other`)."""
    name_kind = _category(side)
    if name_kind == "token" and lexer_token(ctx, side):
        # A parser's token: only a computed MAC or hash in it can say otherwise.
        return _flow(ctx, side, reads=False)
    if name_kind in _STRONG:
        return _describe(name_kind, side)
    flow = _flow(ctx, side)
    if flow is not None:
        return flow
    if name_kind in _WEAK:
        other_kind = _category(other)
        if other_kind in _STRONG or other_kind == "signature" or _flow(ctx, other) is not None:
            return _describe(name_kind, side)
    return None


def _category(expr: ast.expr) -> str | None:
    kind = _raw_category(expr)
    if kind in ("token", "secret", "key") and is_hash_name(raw_name(_unwrap_syntax(expr))):
        return "digest"  # a hash of a token (stored for lookup), not the token
    return kind


def _raw_category(expr: ast.expr) -> str | None:
    expr = _unwrap_syntax(expr)
    if isinstance(expr, ast.Call) and _is_get(expr):
        literal = expr.args[0]
        assert isinstance(literal, ast.Constant)
        return secret_literal_category(str(literal.value))
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant):
        if isinstance(expr.slice.value, str):
            return secret_literal_category(expr.slice.value)
        return None
    if isinstance(expr, ast.JoinedStr):
        for value in expr.values:
            if isinstance(value, ast.FormattedValue):
                kind = _category(value.value)
                if kind in _STRONG:
                    return kind
        return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        kinds = [_category(expr.left), _category(expr.right)]
        return next((k for k in kinds if k in _STRONG), None) or next(
            (k for k in kinds if k is not None), None
        )
    return name_category(raw_name(expr))


def _describe(kind: str, side: ast.expr) -> str:
    name = raw_name(_unwrap_syntax(side))
    label = _LABEL.get(kind, "a secret")
    return f"{label} (`{name}`)" if name else label


def _unwrap_syntax(expr: ast.expr) -> ast.expr:
    for _ in range(4):
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in _PASS_THROUGH_METHODS:
                expr = func.value
                continue
            if (
                isinstance(func, ast.Name | ast.Attribute)
                and _dotted(func) in _PASS_THROUGH_CALLS
                and len(expr.args) == 1
            ):
                expr = expr.args[0]
                continue
        break
    return expr


def _dotted(expr: ast.expr) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return f"{_dotted(expr.value)}.{expr.attr}"
    return ""


def _is_get(call: ast.Call) -> bool:
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in ("get", "getenv", "getheader", "get_header")
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    ) or (
        isinstance(func, ast.Name)
        and func.id == "getenv"
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
    )


def _flow(ctx: FileContext, expr: ast.expr, *, reads: bool = True) -> str | None:
    """A value computed as a MAC or as a hash of secret material, or read from a secret
    environment variable, setting or header (``expected = os.environ["API_KEY"]``)."""
    for value in ctx.walk_values(expr):
        source = _secret_read(value) if reads else None
        if source is not None:
            return source
        if not isinstance(value, ast.Call):
            continue
        name = ctx.call_name(value)
        if is_mac_call(name):
            return "a computed MAC"
        if name is not None and name.startswith("hashlib.") and _hashes_secret(value):
            return "a hash of secret material"
        if name in _PASSWORD_HASHERS:
            return "a password hash"
        function = ctx.local_function(value)
        if function is not None and set(words(function.name)) & _SIGNING_WORDS:
            return f"a computed signature (`{function.name}()`)"
    return None


def _secret_read(node: ast.AST) -> str | None:
    literal: str | None = None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        literal = node.slice.value if isinstance(node.slice.value, str) else None
    elif isinstance(node, ast.Call) and _is_get(node):
        first = node.args[0]
        assert isinstance(first, ast.Constant)
        literal = str(first.value)
    if literal is None:
        return None
    kind = secret_literal_category(literal)
    return f"{_LABEL[kind]} (`{literal}`)" if kind in _STRONG else None


def _hashes_secret(call: ast.Call) -> bool:
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        for inner in ast.walk(arg):
            if name_category(raw_name(inner)) in ("password", "token", "secret", "key"):
                return True
    return False


def _trivial(ctx: FileContext, expr: ast.expr) -> bool:
    """A side that makes the comparison not a secret compare."""
    value: object = NOT_CONSTANT
    if isinstance(expr, ast.Constant):
        value = expr.value
    elif isinstance(expr, ast.Name) and ctx.parameter_of(expr) is None:
        value = ctx.literal(expr)
    if value is not NOT_CONSTANT:
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str):
            return len(value) < 16 or " " in value
        return True
    if isinstance(expr, ast.Compare | ast.BoolOp | ast.UnaryOp):
        return True
    if isinstance(expr, ast.Tuple | ast.List) and all(
        isinstance(e, ast.Constant) for e in expr.elts
    ):
        return True
    if isinstance(expr, ast.Call):
        name = ctx.call_name(expr)
        if name in _TRIVIAL_CALLS:
            return True
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Slice):
        return _short_slice(expr.slice)
    return names_non_secret(raw_name(expr))


def _constant_valued(ctx: FileContext, expr: ast.expr) -> bool:
    if isinstance(expr, ast.Constant):
        return True
    return (
        isinstance(expr, ast.Name)
        and ctx.parameter_of(expr) is None
        and ctx.literal(expr) is not NOT_CONSTANT
    )


def _short_slice(s: ast.Slice) -> bool:
    """``sig[:2]``, ``token[:7]`` (a scheme prefix): too short to be the secret."""
    upper = s.upper
    lower = s.lower
    if lower is None and isinstance(upper, ast.Constant) and isinstance(upper.value, int):
        return 0 <= upper.value <= 8
    return False


def _denylist(container: ast.expr) -> bool:
    name = raw_name(container)
    if isinstance(container, ast.Call) and isinstance(container.func, ast.Attribute):
        name = raw_name(container.func.value)
    return bool(name) and bool(set(words(name or "")) & _DENYLIST_WORDS)


def _constant_container(ctx: FileContext, container: ast.expr) -> bool:
    if isinstance(container, ast.Tuple | ast.List | ast.Set):
        return all(ctx.literal(e) is not NOT_CONSTANT for e in container.elts)
    return isinstance(container, ast.Constant)


def _paired_fields(left: ast.expr, right: ast.expr) -> bool:
    """``password1 != password2``, ``new_password == old_password``: two inputs of one
    form compared with each other, not a secret with a guess."""
    a, b = raw_name(left), raw_name(right)
    if not a or not b:
        return False
    if name_category(a) != "password" or name_category(b) != "password":
        return False
    wa, wb = set(words(a)), set(words(b))
    digits = any(w.isdigit() or w[-1:].isdigit() for w in wa | wb)
    return digits or bool((wa | wb) & _PAIRED_FIELDS)
