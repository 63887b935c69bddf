"""Shared vocabulary of the verification-switch rules (CR0701 and CR0703); the switches
themselves are found by `_tls_switches`.

A *switch* is one place where code decides whether a peer is verified: the ``verify=``
argument of an HTTP client, an ``SSLContext``'s ``verify_mode`` or ``check_hostname``, a
JWT ``options={"verify_signature": ...}`` entry, the choice of an unverified context
factory. CR0701 reports switches set to "off" by a constant; CR0703 reports switches
decided by a plain configuration or environment value. One switch is reported by at most
one of the two rules: a constant "off" that only applies when a config value says so
(``verify=False`` inside ``if os.getenv("DEV"):``) is a config switch, not a constant one.
"""

from __future__ import annotations

import ast
import functools
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from cryptorails.audit._context import FileContext

__all__ = [
    "UNVERIFIED_FACTORIES",
    "Off",
    "Switch",
    "context_like_class",
    "imports_module",
    "is_cert_none",
    "is_false",
    "is_true",
    "keyword_polarity",
    "mentions",
    "server_module",
    "terminals",
]

Off = Callable[[FileContext, ast.AST], bool]

_MAX_TERMINALS = 64


def _const(v: ast.AST) -> object:
    return v.value if isinstance(v, ast.Constant) else _Missing


class _Missing:
    pass


def is_false(ctx: FileContext, v: ast.AST) -> bool:
    value = _const(v)
    return value is False or (type(value) is int and value == 0)


def is_true(ctx: FileContext, v: ast.AST) -> bool:
    value = _const(v)
    return value is True or (type(value) is int and value == 1)


def is_cert_none(ctx: FileContext, v: ast.AST) -> bool:
    """``ssl.CERT_NONE`` (any alias), its value 0, or the names urllib3/redis accept."""
    value = _const(v)
    if isinstance(value, str):
        return value.upper() in ("CERT_NONE", "NONE")
    if type(value) is int:
        return value == 0
    name = ctx.qualname(v) or ""
    return name == "ssl.CERT_NONE" or name.endswith(".CERT_NONE")


UNVERIFIED_FACTORIES = frozenset({"ssl._create_unverified_context", "ssl._create_stdlib_context"})


@dataclass(frozen=True)
class Switch:
    """One place that turns a verification on or off.

    Attributes:
        at: where a finding points.
        value: the expression that decides.
        what: how the finding names the switch (``verify=``, ``.check_hostname``).
        off: whether one terminal value of `value` means "verification off".
        tls: a TLS switch (CR0701 reports only those); False for JWT signature checks.
        configurable: whether a config-derived value is a finding (CR0703). False for
            switches matched only by an unambiguous "off" constant, where a config value
            could mean anything.
        path_ok: the value may also be a CA-bundle path (requests/httpx ``verify=``), so
            a config value named like a path is not a switch.
    """

    at: ast.AST
    value: ast.AST
    what: str
    off: Off
    tls: bool = True
    configurable: bool = True
    path_ok: bool = False


# Keyword arguments of HTTP, database and SDK clients that switch certificate or hostname
# checks, by the literal that turns them off.
_OFF_WHEN_FALSE = frozenset(
    {
        "verify_ssl",  # aiohttp (deprecated), kubernetes, many SDKs
        "ssl_verify",  # python-gitlab, hvac
        "verify_certs",  # elasticsearch, opensearch
        "verify_cert",
        "verify_certificate",
        "validate_certs",
        "verify_tls",
        "tls_verify",
        "check_hostname",
        "ssl_check_hostname",  # redis
        "assert_hostname",  # urllib3
        "connection_verify",  # Azure SDK
        "cert_check",  # minio
    }
)
_VERIFY_WORDS = frozenset({"verify", "verification"})
_CHECK_WORDS = frozenset({"validate", "validation", "check", "checks"})
_TLS_WORDS = frozenset(
    {"ssl", "tls", "cert", "certs", "certificate", "certificates", "hostname", "host", "peer"}
)
# Words that make a `verify_*` keyword about something other than the peer (JWT claims,
# passwords, checksums).
_NOT_TLS_WORDS = frozenset(
    {"signature", "exp", "expiration", "aud", "audience", "iss", "issuer", "iat", "nbf"}
    | {"jti", "sub", "token", "jwt", "email", "password", "checksum", "hash", "integrity"}
    | {"otp", "mfa", "payload", "schema", "data", "input", "args", "types"}
)


_NEGATIONS = frozenset(
    {"no", "skip", "disable", "disabled", "ignore", "insecure", "allow", "without", "bypass"}
)


@functools.lru_cache(maxsize=4096)
def keyword_polarity(name: str) -> Off | None:
    """How a keyword that switches a peer check turns it off: `is_false` for
    ``verify_ssl``, ``ssl_verify_cert``, ``validate_certs``, ``check_hostname``;
    `is_true` for ``tlsAllowInvalidCertificates``, ``skip_tls_verify``,
    ``disable_ssl_certificate_validation``. None for other keywords (``verify`` itself,
    ``verify_signature``, ``check``)."""
    if name in _OFF_WHEN_TRUE:
        return is_true
    if name in _OFF_WHEN_FALSE:
        return is_false
    words = set(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().split("_"))
    if words & _NOT_TLS_WORDS or name == "verify":
        return None
    if not (words & (_VERIFY_WORDS | _CHECK_WORDS) and words & _TLS_WORDS):
        return None
    return is_true if words & _NEGATIONS else is_false


_OFF_WHEN_TRUE = frozenset(
    {
        "disable_ssl_certificate_validation",  # httplib2
        "tlsAllowInvalidCertificates",  # pymongo
        "tlsAllowInvalidHostnames",
        "tlsInsecure",
        "ssl_insecure",
        "insecure_skip_verify",
        "skip_tls_verify",
        "skip_verify",
        "no_verify",
    }
)


_MENTIONS: weakref.WeakKeyDictionary[FileContext, dict[bytes, bool]] = weakref.WeakKeyDictionary()


def mentions(ctx: FileContext, word: bytes) -> bool:
    """Whether the file's source contains `word` (case-sensitive; cached per file)."""
    seen = _MENTIONS.setdefault(ctx, {})
    if word not in seen:
        seen[word] = word in ctx.source
    return seen[word]


_SERVERS = ("uvicorn", "hypercorn", "gunicorn", "daphne", "granian")
_SERVER_MODULES: weakref.WeakKeyDictionary[FileContext, bool] = weakref.WeakKeyDictionary()


def server_module(ctx: FileContext) -> bool:
    """Whether the module configures a server (imports uvicorn, gunicorn...)."""
    if ctx not in _SERVER_MODULES:
        _SERVER_MODULES[ctx] = any(imports_module(ctx, root) for root in _SERVERS)
    return _SERVER_MODULES[ctx]


def context_like_class(ctx: FileContext, node: ast.AST) -> bool:
    """Whether `node` is in a class that sets both ``self.verify_mode`` and
    ``self.check_hostname``: an SSLContext stand-in, whose attributes hold its caller's
    choice (urllib3's and pip's shims), not a decision."""
    cls = ctx.enclosing_class(node)
    attrs = ctx.self_attrs.get(cls, {}) if cls is not None else {}
    return "verify_mode" in attrs and "check_hostname" in attrs


def imports_module(ctx: FileContext, root: str) -> bool:
    """Whether the module imports `root` or something under it."""
    return any(v == root or v.startswith(root + ".") for v in ctx.imports.values())


def terminals(ctx: FileContext, expr: ast.AST) -> list[tuple[ast.AST, tuple[ast.AST, ...]]]:
    """The values `expr` may take, with the tests of the conditional expressions that
    choose them (``False if DEV else True`` gives ``False`` and ``True``, each with
    ``DEV``)."""
    out: list[tuple[ast.AST, tuple[ast.AST, ...]]] = []
    stack: list[tuple[ast.AST, tuple[ast.AST, ...]]] = [(expr, ())]
    while stack and len(out) < _MAX_TERMINALS:
        current, tests = stack.pop()
        for value in ctx.values(current):
            if isinstance(value, ast.IfExp) and len(tests) < 4:
                stack.append((value.orelse, (*tests, value.test)))
                stack.append((value.body, (*tests, value.test)))
            else:
                out.append((value, tests))
    return out
