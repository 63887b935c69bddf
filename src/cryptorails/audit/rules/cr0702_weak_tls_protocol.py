"""CR0702: TLS pinned to an obsolete protocol version or opened to weak cipher suites."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule

# Protocol constants, by the name's last component(s): what they pin.
_PROTOCOLS = {
    "PROTOCOL_SSLv2": "SSL 2.0",
    "PROTOCOL_SSLv3": "SSL 3.0",
    "PROTOCOL_TLSv1": "TLS 1.0",
    "PROTOCOL_TLSv1_1": "TLS 1.1",
    "SSLv2_METHOD": "SSL 2.0",
    "SSLv3_METHOD": "SSL 3.0",
    "TLSv1_METHOD": "TLS 1.0",
    "TLSv1_1_METHOD": "TLS 1.1",
}
# Version bounds (ssl.TLSVersion members and pyOpenSSL's *_VERSION ints).
_VERSIONS = {
    "TLSVersion.SSLv3": "SSL 3.0",
    "TLSVersion.TLSv1": "TLS 1.0",
    "TLSVersion.TLSv1_1": "TLS 1.1",
    "SSL3_VERSION": "SSL 3.0",
    "TLS1_VERSION": "TLS 1.0",
    "TLS1_1_VERSION": "TLS 1.1",
}
_MINIMUM_SUPPORTED = "TLSVersion.MINIMUM_SUPPORTED"
# Names urllib3 accepts as strings for ssl_version / ssl_minimum_version.
_VERSION_STRINGS = {
    "SSLV2": "SSL 2.0",
    "SSLV3": "SSL 3.0",
    "TLSV1": "TLS 1.0",
    "TLSV1_1": "TLS 1.1",
    "TLSV1.1": "TLS 1.1",
    "PROTOCOL_SSLV2": "SSL 2.0",
    "PROTOCOL_SSLV3": "SSL 3.0",
    "PROTOCOL_TLSV1": "TLS 1.0",
    "PROTOCOL_TLSV1_1": "TLS 1.1",
}
_CONTEXT_CALLS = frozenset(
    {"SSLContext", "Context", "wrap_socket", "ssl_wrap_socket", "get_server_certificate"}
)
_MIN_KEYWORDS = frozenset(
    {"ssl_version", "ssl_minimum_version", "minimum_version", "min_version", "tls_version"}
    | {"protocol", "method", "ssl_protocol", "ssl_method"}
)
_MAX_KEYWORDS = frozenset({"ssl_maximum_version", "maximum_version", "max_version"})
_OLD_OPTIONS = ("OP_NO_SSLv2", "OP_NO_SSLv3", "OP_NO_TLSv1", "OP_NO_TLSv1_1")
_CIPHER_KEYWORDS = frozenset({"ciphers", "ssl_ciphers", "cipher_list", "cipher_suites"})

# OpenSSL cipher-string families that are broken or unauthenticated, and the
# cipher-string words that add them. "ALL" adds everything but eNULL.
_FAMILIES = {
    "RC4": {"RC4"},
    "DES": {"DES", "LOW"},
    "3DES": {"3DES"},
    "NULL": {"NULL", "ENULL", "COMPLEMENTOFALL"},
    "aNULL": {"ANULL", "ADH", "AECDH"},
    "EXPORT": {"EXPORT", "EXP", "EXPORT40", "EXPORT56", "EXP40", "EXP56"},
    "MD5": {"MD5"},
    "RC2": {"RC2"},
}
_ALL_ADDS = frozenset({"RC4", "DES", "3DES", "aNULL", "EXPORT", "MD5", "RC2"})
_SPLIT = re.compile(r"[:,\s]+")


@rule(
    code="CR0702",
    name="weak-tls-protocol",
    case=7,
    severity=Severity.HIGH,
    cwe=327,
    nodes=(ast.Call, ast.Assign, ast.AugAssign),
    # An obsolete version's name (`_PROTOCOLS`, `_VERSIONS`, `_VERSION_STRINGS`, the
    # ``OP_NO_TLSv1*`` options, ``MINIMUM_SUPPORTED``) or a cipher string.
    requires=[["sslv", "tlsv1", "ssl3_", "tls1_", "minimum_supported", "cipher"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds TLS set up to speak obsolete protocol versions or weak cipher suites.

    ## What it does
    Reports ``ssl.PROTOCOL_SSLv2/SSLv3/TLSv1/TLSv1_1`` (and pyOpenSSL's
    ``SSLv2/SSLv3/TLSv1/TLSv1_1_METHOD``) passed to ``SSLContext``, ``wrap_socket`` or an
    ``ssl_version=`` argument; ``minimum_version`` set to ``TLSVersion.TLSv1``,
    ``TLSv1_1``, ``SSLv3`` or ``MINIMUM_SUPPORTED`` (and ``maximum_version`` capped at one
    of them; pyOpenSSL ``set_min_proto_version``/``set_max_proto_version`` alike);
    ``options`` that switch off both TLS 1.2 and 1.3, or switch an old version back on
    (``&= ~OP_NO_TLSv1``); pyOpenSSL's version-flexible ``SSLv23_METHOD`` when the
    context never excludes SSL 3.0 or sets a minimum; and cipher strings
    (``set_ciphers``, ``ciphers=``, urllib3's ``DEFAULT_CIPHERS``) that add RC4, DES,
    3DES, NULL, anonymous (aNULL), EXPORT or MD5 suites, ``ALL`` without removing
    them, or ``@SECLEVEL=0``. Values are followed through variables and constants.

    ## Why is this bad?
    SSL 3.0 is broken by POODLE, TLS 1.0 and 1.1 by BEAST-era CBC weaknesses and SHA-1
    handshakes; RFC 8996 forbids them. Negotiating them, or RC4, export-grade, NULL or
    anonymous suites, lets an active attacker downgrade the connection and then decrypt
    or impersonate. The library defaults (``ssl.create_default_context()``) already get
    this right; these settings only ever make it worse.

    ## Example
    ```python
    context = ssl.SSLContext(ssl.PROTOCOL_TLSv1)
    context.set_ciphers("ALL:@SECLEVEL=0")
    ```

    ## Use instead
    ``ssl.create_default_context()`` with ``minimum_version = ssl.TLSVersion.TLSv1_2``
    and the default cipher list. Data that must stay confidential regardless of the
    transport can be sealed end to end with `cryptorails.Sealer` (XAES-256-GCM, no
    protocol or cipher choice to get wrong).

    ## References
    - RFC 8996: Deprecating TLS 1.0 and TLS 1.1
    - RFC 7568: Deprecating SSL 3.0; RFC 7465: Prohibiting RC4 Cipher Suites
    - NIST SP 800-52 Rev. 2 §3.1 (TLS 1.2 minimum)
    - CWE-327: Use of a Broken or Risky Cryptographic Algorithm
    """
    if isinstance(node, ast.Call):
        yield from _call(node, ctx)
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            yield from _assigned(target, node.value, ctx)
    elif isinstance(node, ast.AugAssign):
        yield from _augmented(node, ctx)


def _tail(name: str, parts: int) -> str:
    return ".".join(name.split(".")[-parts:])


def _weak_version(ctx: FileContext, expr: ast.AST, *, minimum: bool) -> str | None:
    """What obsolete version `expr` may name, or None."""
    for value in ctx.values(expr):
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            found = _VERSION_STRINGS.get(value.value.upper())
            if found:
                return f"{value.value!r} ({found})"
            continue
        name = ctx.qualname(value) or ""
        if not name:
            continue
        for table in (_PROTOCOLS, _VERSIONS):
            found = table.get(_tail(name, 1)) or table.get(_tail(name, 2))
            if found:
                return f"{name} ({found})"
        if minimum and _tail(name, 2) == _MINIMUM_SUPPORTED:
            return f"{name} (the oldest version OpenSSL still allows)"
    return None


def _call(call: ast.Call, ctx: FileContext) -> Iterator[Finding]:
    name = ctx.call_name(call) or ""
    last = name.rsplit(".", 1)[-1]
    checks: list[tuple[ast.AST, bool]] = []
    if last in _CONTEXT_CALLS:
        checks.extend((a, True) for a in call.args if not isinstance(a, ast.Starred))
    if last in ("set_min_proto_version", "set_max_proto_version") and call.args:
        checks.append((call.args[0], last == "set_min_proto_version"))
    for kw in call.keywords:
        if kw.arg in _MIN_KEYWORDS:
            checks.append((kw.value, True))
        elif kw.arg in _MAX_KEYWORDS:
            checks.append((kw.value, False))
        elif kw.arg in _CIPHER_KEYWORDS:
            yield from _ciphers(kw.value, ctx)
    for expr, minimum in checks:
        weak = _weak_version(ctx, expr, minimum=minimum)
        if weak is not None:
            yield ctx.report(expr, f"{weak} is an obsolete protocol version (RFC 8996)")
            return
    if last in ("set_ciphers", "set_cipher_list") and call.args:
        yield from _ciphers(call.args[0], ctx)
    elif last == "set_options" and call.args:
        yield from _options(call.args[0], call.args[0], ctx)
    elif last == "clear_options" and call.args:
        old = _option_names(ctx, call.args[0]) & set(_OLD_OPTIONS)
        if old:
            yield ctx.report(call.args[0], f"clearing {min(old)} re-enables an old protocol")
    if last == "Context" and call.args and _flexible_unrestricted(call, ctx):
        yield ctx.report(
            call.args[0],
            "SSLv23_METHOD without OP_NO_SSLv3 or a minimum version negotiates old protocols",
        )


def _flexible_unrestricted(call: ast.Call, ctx: FileContext) -> bool:
    """pyOpenSSL ``Context(SSLv23_METHOD)`` whose object never gets ``set_options`` with
    ``OP_NO_SSLv3`` nor ``set_min_proto_version`` in the same scope."""
    if not any((ctx.qualname(v) or "").endswith("SSLv23_METHOD") for v in ctx.values(call.args[0])):
        return False
    parent = ctx.parent(call)
    if not isinstance(parent, ast.Assign) or len(parent.targets) != 1:
        return True
    target = ast.unparse(parent.targets[0])
    scope = ctx.scope_of.get(call)
    for attr in ("set_options", "set_min_proto_version"):
        for other in ctx.calls_by_attr.get(attr, []):
            func = other.func
            if not (
                isinstance(func, ast.Attribute)
                and ast.unparse(func.value) == target
                and ctx.scope_of.get(other) is scope
            ):
                continue
            if attr == "set_min_proto_version":
                return False
            if other.args and "OP_NO_SSLv3" in _option_names(ctx, other.args[0]):
                return False
    return True


def _assigned(target: ast.AST, value: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    attr = target.attr if isinstance(target, ast.Attribute) else None
    if isinstance(target, ast.Name):
        attr = target.id
    if attr in ("minimum_version", "maximum_version") and isinstance(target, ast.Attribute):
        weak = _weak_version(ctx, value, minimum=attr == "minimum_version")
        if weak is not None:
            yield ctx.report(target, f"{attr} = {weak}: an obsolete protocol version (RFC 8996)")
    elif attr == "DEFAULT_CIPHERS":
        yield from _ciphers(value, ctx)
    elif attr == "options" and isinstance(value, ast.BinOp):
        yield from _options(value, target, ctx)


def _augmented(node: ast.AugAssign, ctx: FileContext) -> Iterator[Finding]:
    target = node.target
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    if name == "options" and isinstance(node.op, ast.BitOr):
        yield from _options(node.value, target, ctx)
    elif name == "options" and isinstance(node.op, ast.BitAnd):
        inverted = node.value
        if isinstance(inverted, ast.UnaryOp) and isinstance(inverted.op, ast.Invert):
            old = _option_names(ctx, inverted.operand) & set(_OLD_OPTIONS)
            if old:
                yield ctx.report(target, f"clearing {min(old)} re-enables an old protocol")
    elif name == "DEFAULT_CIPHERS" and isinstance(node.op, ast.Add):
        yield from _ciphers(node.value, ctx)


def _option_names(ctx: FileContext, expr: ast.AST) -> set[str]:
    names: set[str] = set()
    for value in ctx.values(expr):
        for sub in ast.walk(value):
            if isinstance(sub, ast.Name | ast.Attribute):
                last = (ctx.qualname(sub) or "").rsplit(".", 1)[-1]
                if last.startswith("OP_NO_"):
                    names.add(last)
    return names


def _options(expr: ast.AST, at: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    names = _option_names(ctx, expr)
    if {"OP_NO_TLSv1_2", "OP_NO_TLSv1_3"} <= names and not {"OP_NO_TLSv1", "OP_NO_TLSv1_1"} <= (
        names
    ):
        yield ctx.report(at, "OP_NO_TLSv1_2 and OP_NO_TLSv1_3 leave only obsolete protocols")


def _ciphers(expr: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    for value in ctx.values(expr):
        text = value.value if isinstance(value, ast.Constant) else None
        if isinstance(text, bytes):
            text = text.decode("latin-1")
        if not isinstance(text, str):
            continue
        weak = weak_cipher_families(text)
        if weak:
            yield ctx.report(expr, f"cipher string {text!r} enables {', '.join(weak)}")
            return


def weak_cipher_families(spec: str) -> list[str]:
    """The weak families an OpenSSL cipher string leaves enabled (sorted), plus
    ``@SECLEVEL=0`` when present. Removals (``!X``, ``-X``) anywhere in the string are
    honoured; that over-approximates what OpenSSL keeps, never under."""
    added: set[str] = set()
    removed: set[str] = set()
    seclevel0 = False
    for token in _SPLIT.split(spec.strip()):
        if not token:
            continue
        if token.upper().startswith("@SECLEVEL="):
            seclevel0 = token[len("@SECLEVEL=") :].strip() == "0"
            continue
        remove = token[0] in "!-"
        word = token.lstrip("!-+").upper()
        families = _families(word)
        (removed if remove else added).update(families)
    out = sorted(added - removed)
    if seclevel0:
        out.append("@SECLEVEL=0")
    return out


def _families(word: str) -> set[str]:
    if word in ("ALL",):
        return set(_ALL_ADDS)
    found: set[str] = set()
    for term in word.split("+"):
        parts = {term, *term.split("-")}
        if "CBC3" in parts or (term.startswith("DES-CBC3") or "-DES-CBC3" in term):
            found.add("3DES")
            parts.discard("DES")
        for family, words in _FAMILIES.items():
            if words & parts:
                found.add(family)
    return found
