"""Shared vocabulary for the observability rules (CR10xx): credential-bearing HTTP
headers and the header-capture settings of OpenTelemetry and Datadog.

OpenTelemetry's instrumentations read capture lists as comma-separated regular
expressions matched case-insensitively against the whole header name
(``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST=".*"`` captures everything);
``..._SANITIZE_FIELDS`` replaces the values of matching headers with ``[REDACTED]``.
"""

from __future__ import annotations

import ast
import re

from cryptorails.audit._context import NOT_CONSTANT, FileContext

__all__ = [
    "CAPTURE_ENV",
    "SANITIZE_ENV",
    "captured_credentials",
    "env_assignments",
    "is_credential_header",
    "string_list",
]

CAPTURE_ENV = frozenset(
    f"OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_{side}_{kind}"
    for side in ("SERVER", "CLIENT")
    for kind in ("REQUEST", "RESPONSE")
)
SANITIZE_ENV = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"
DD_HEADER_TAGS = "DD_TRACE_HEADER_TAGS"

# Header names a capture regex is tried against: the standard credential headers.
# Custom ones (X-Api-Key, X-Auth-Token) count when named explicitly; a prefix pattern
# such as ``x-.*`` is taken as a deliberate choice of application headers.
_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie")
_CREDENTIAL_NAME = re.compile(
    r"authorization|cookie|api-?key|token|secret|password|session|jwt|^sid$"
)


def is_credential_header(name: str) -> bool:
    """Whether a header name (any case, ``_`` or ``-``, Django ``HTTP_`` prefix allowed)
    carries credentials."""
    normal = name.strip().lower().replace("_", "-")
    return _CREDENTIAL_NAME.search(normal) is not None


def _matches(pattern: str, header: str) -> bool:
    try:
        return re.fullmatch(pattern, header, re.IGNORECASE) is not None
    except re.error:
        return pattern.strip().lower() == header


def captured_credentials(entries: list[str], sanitized: list[str]) -> list[str]:
    """The credential headers a capture list (regexes) records unredacted."""
    out: list[str] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        hits = [h for h in _CREDENTIAL_HEADERS if _matches(entry, h)]
        if not hits and is_credential_header(entry):
            hits = [entry.lower()]
        for header in hits:
            if header not in out and not any(_matches(s.strip(), header) for s in sanitized):
                out.append(header)
    return out


def string_list(ctx: FileContext, expr: ast.AST | None) -> list[str] | None:
    """A list/tuple of string constants, or a comma-separated string constant, as a
    list; None if `expr` is not known to be one."""
    if expr is None:
        return None
    values = ctx.values(expr)
    out: list[str] = []
    for value in values:
        if isinstance(value, ast.List | ast.Tuple | ast.Set):
            for element in value.elts:
                text = ctx.literal(element)
                if not isinstance(text, str):
                    return None
                out.append(text)
        elif isinstance(value, ast.Constant) and isinstance(value.value, str):
            out.extend(value.value.split(","))
        else:
            return None
    return out


def env_assignments(ctx: FileContext, node: ast.AST) -> list[tuple[str, ast.expr]]:
    """``(variable, value)`` pairs `node` sets: ``os.environ[NAME] = v``,
    ``os.environ.setdefault(NAME, v)``, ``os.putenv``, ``monkeypatch.setenv``,
    ``os.environ.update(NAME=v)`` and dict literals (``env={NAME: v}``)."""
    out: list[tuple[str, ast.expr]] = []
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Subscript):
                name = ctx.literal(target.slice)
                if isinstance(name, str) and name.isupper():
                    out.append((name, node.value))
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            name = ctx.literal(key) if key is not None else NOT_CONSTANT
            if isinstance(name, str) and name.isupper():
                out.append((name, value))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        attr = node.func.attr
        if attr in ("setdefault", "putenv", "setenv") and len(node.args) >= 2:
            name = ctx.literal(node.args[0])
            if isinstance(name, str):
                out.append((name, node.args[1]))
        elif attr == "update":
            out.extend((k.arg, k.value) for k in node.keywords if k.arg is not None)
    return out
