"""CR1001: tracing that captures the Authorization or Cookie header."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument, identifier
from cryptorails.audit.rules._observability import (
    CAPTURE_ENV,
    DD_HEADER_TAGS,
    SANITIZE_ENV,
    captured_credentials,
    env_assignments,
    is_credential_header,
    string_list,
)

_CAPTURE_KW = "http_capture_headers_"
_SANITIZE_KW = "http_capture_headers_sanitize_fields"
# Span/scope methods taking (key, value), and those taking a mapping.
_KEYED_SINKS = frozenset({"set_attribute", "set_tag", "set_extra", "set_context", "set_data"})
_MAPPING_SINKS = {
    "set_attributes": (0, "attributes"),
    "set_tags": (0, "tags"),
    "log_kv": (0, "key_values"),
    "add_event": (1, "attributes"),
}
_HEADER_BAGS = frozenset({"headers", "cookies", "meta", "raw_headers"})
_NARROWING = frozenset({"get", "getlist", "get_all", "getone", "getall"})
_NAMES_ONLY = frozenset({"keys"})
_REDACTING = re.compile(r"redact|mask|sanitiz|scrub|filter|safe|clean|allow|censor", re.I)
# `Rule.confirm`: the span/scope methods as whole identifiers (``set_extra``, not
# ``set_extra_mask``).
_SINK_NAME = re.compile(
    rb"(?<![A-Za-z0-9_])(?:"
    + b"|".join(re.escape(n.encode()) for n in sorted(_KEYED_SINKS | set(_MAPPING_SINKS)))
    + rb")(?![A-Za-z0-9_])"
)
_KNOWN_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "http-authorization",
        "http-cookie",
        "x-auth-token",
    }
)


def _may_record_headers(source: bytes, lowered: bytes, path: str) -> bool:
    """The rule's text test (`Rule.confirm`), a necessary condition for a finding: the
    capture settings are named (`_named`: the environment variables and keywords are
    only read when their names are in the source; ``trace_headers`` is a callee), or a
    span/scope method of `_KEYED_SINKS` or `_MAPPING_SINKS` is (`_sink_leak` looks at
    nothing else)."""
    return (
        b"http_capture_headers" in lowered
        or b"trace_header" in lowered  # DD_TRACE_HEADER_TAGS, config.trace_headers()
        or _SINK_NAME.search(source) is not None
    )


@rule(
    code="CR1001",
    name="header-capture-includes-credentials",
    case=10,
    severity=Severity.HIGH,
    cwe=532,
    nodes=(ast.Call, ast.Assign, ast.Dict),
    # The capture settings (OpenTelemetry's variables and keyword arguments, Datadog's
    # trace_headers and DD_TRACE_HEADER_TAGS) and the span/scope methods, first as a
    # short gate (the five setters share "set_"), then exactly; and a header, cookie,
    # request.META or credential header named somewhere (`_KNOWN_HEADERS`, with "_" or
    # "-": a span attribute keyed "x-api-key" needs no other word).
    requires=[
        ["set_", "capture_headers", "trace_header", "add_event", "log_kv"],
        [
            "capture_headers", "trace_header", "set_attribute", "set_tag", "add_event",
            "set_context", "set_extra", "set_data", "log_kv",
        ],
        [
            "header", "cookie", "authorization", "meta", "api-key", "api_key",
            "auth-token", "auth_token",
        ],
    ],
    confirm=_may_record_headers,
)  # fmt: skip
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds tracing set up to record Authorization, Cookie or every HTTP header.

    ## What it does
    Reports OpenTelemetry header capture that matches credential headers —
    `OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST` (and the client and
    response variants) set to `.*` or to a list naming `Authorization`, `Cookie`,
    `Set-Cookie` or an API-key header, in `os.environ` or an `env=` mapping, and the
    `http_capture_headers_server_request=[...]` arguments of the instrumentors — unless
    `..._SANITIZE_FIELDS` redacts them; Datadog `config.trace_headers([...])` and
    `DD_TRACE_HEADER_TAGS` naming them; and hooks that copy headers into spans by hand:
    `span.set_attribute("http.request.header.authorization", ...)`,
    `span.set_attributes(dict(request.headers))`, `set_tag`/`set_context`/`set_extra`
    with `request.headers`, `request.cookies` or `request.headers["Authorization"]`.
    A module that calls `cryptorails.redact.safe_header_capture()` is trusted for the
    environment variables, and one that exports through
    `cryptorails.redact.RedactingSpanExporter` for everything.

    ## Why is this bad?
    Traces are shipped to a vendor, kept for weeks and readable by everyone on call.
    A captured `Authorization` or `Cookie` header is a working credential: anyone with
    access to the tracing UI can replay it until it expires, and session cookies and API
    keys often never do.

    ## Example
    ```python
    os.environ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST"] = ".*"

    def request_hook(span, environ):
        span.set_attribute("http.request.headers", str(dict(request.headers)))
    ```

    ## Use instead
    `cryptorails.redact`: capture an explicit allowlist of harmless headers (its
    `safe_header_capture()` helper), and export through its OpenTelemetry
    `RedactingSpanExporter`, which masks credential-looking attributes before they leave
    the process; otherwise set `OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS`
    to `authorization,cookie,set-cookie,proxy-authorization,x-api-key`.

    ## References
    - CWE-532: Insertion of Sensitive Information into Log File
    - OpenTelemetry semantic conventions, HTTP spans: `http.request.header.<key>`
      ("may contain sensitive information")
    - OWASP Logging Cheat Sheet (data to exclude: session identifiers, access tokens)
    """
    redacting = _module_redacts(ctx)
    if redacting == "exporter":
        return
    env_named, capture_named = _named(ctx)
    if redacting is None and env_named:
        for name, value in env_assignments(ctx, node):
            yield from _env_capture(ctx, name, value)
    if not isinstance(node, ast.Call):
        return
    for keyword in node.keywords if capture_named else ():
        arg = keyword.arg or ""
        if arg.startswith(_CAPTURE_KW) and arg != _SANITIZE_KW:
            entries = string_list(ctx, keyword.value)
            sanitized = string_list(ctx, call_argument(node, None, _SANITIZE_KW)) or []
            leaked = captured_credentials(entries or [], [*sanitized, *_env_sanitized(ctx)])
            if leaked:
                yield ctx.report(
                    keyword.value,
                    f"{arg} captures {', '.join(leaked)} into every span",
                )
    func = node.func
    if not isinstance(func, ast.Attribute):
        return
    if func.attr == "trace_headers":
        entries = string_list(ctx, call_argument(node, 0, "allowlist")) or []
        leaked = [e for e in entries if is_credential_header(e)]
        if leaked:
            yield ctx.report(node, f"trace_headers records {', '.join(leaked)} on every span")
        return
    leak = _sink_leak(ctx, node, func.attr)
    if leak is not None and not _filtered(ctx, node):
        yield ctx.report(node, f"{func.attr} records {leak} in traces")


def _named(ctx: FileContext) -> tuple[bool, bool]:
    """Whether the module names a capture environment variable (OpenTelemetry's or
    Datadog's), and whether it names OpenTelemetry's capture keyword arguments: without
    the name in the source no assignment or argument can set them (memoized per file;
    it spares the data flow on every dict, assignment and call of the module)."""
    key = ("CR1001:named",)
    found = ctx.cache.get(key)
    if found is None:
        lowered = ctx.source.lower()
        capture = b"http_capture_headers" in lowered
        found = ctx.cache[key] = (capture or b"dd_trace_header_tags" in lowered, capture)
    return found  # type: ignore[return-value]


def _module_redacts(ctx: FileContext) -> str | None:
    """``"exporter"`` when the module exports spans through cryptorails'
    `RedactingSpanExporter` (it masks credential attributes whatever put them there);
    ``"env"`` when it calls `safe_header_capture()`, which rewrites the capture and
    sanitize variables; else None."""
    key = ("CR1001:redacts",)
    cached = ctx.cache.get(key)
    if cached is None:
        cached = ""
        lowered = ctx.source.lower()
        # identifier() snake-cases the camel-case class name.
        if b"redacting" in lowered or b"safe_header_capture" in lowered:
            for node in ctx.by_type.get(ast.Name, []) + ctx.by_type.get(ast.Attribute, []):
                name = identifier(node) or ""
                if name == "redacting_span_exporter":
                    cached = "exporter"
                    break
                if name == "safe_header_capture":
                    cached = "env"
        ctx.cache[key] = cached
    return cached or None  # type: ignore[return-value]


def _env_capture(ctx: FileContext, name: str, value: ast.expr) -> Iterator[Finding]:
    if name in CAPTURE_ENV:
        entries = string_list(ctx, value) or []
        leaked = captured_credentials(entries, _env_sanitized(ctx))
        if leaked:
            yield ctx.report(value, f"{name} captures {', '.join(leaked)} into every span")
    elif name == DD_HEADER_TAGS:
        entries = string_list(ctx, value) or []
        leaked = [e.split(":")[0].strip() for e in entries if is_credential_header(e.split(":")[0])]
        if leaked:
            yield ctx.report(value, f"{name} tags every span with {', '.join(leaked)}")


def _env_sanitized(ctx: FileContext) -> list[str]:
    key = ("CR1001:sanitized",)
    cached: list[str] | None = ctx.cache.get(key)  # type: ignore[assignment]
    if cached is None:
        cached = []
        for node_type in (ast.Assign, ast.Dict, ast.Call):
            for node in ctx.by_type.get(node_type, ()):
                for name, value in env_assignments(ctx, node):
                    if name == SANITIZE_ENV:
                        cached.extend(string_list(ctx, value) or [])
        ctx.cache[key] = cached
    return cached


def _sink_leak(ctx: FileContext, call: ast.Call, method: str) -> str | None:
    """What credential-bearing header data a span/scope call records, described."""
    if method in _KEYED_SINKS:
        key = call_argument(call, 0, "key")
        value = call_argument(call, 1, "value")
        key_text = _text(ctx, key)
        if (
            key_text
            and _header_key(key_text)
            and not _redacted(ctx, value)
            and not (value is not None and _only_presence(ctx, value))
        ):
            return f"the {key_text} header"
    elif method in _MAPPING_SINKS:
        value = call_argument(call, *_MAPPING_SINKS[method])
    else:
        return None
    if value is None or _redacted(ctx, value):
        return None
    return _header_data(ctx, value)


def _header_data(ctx: FileContext, value: ast.AST) -> str | None:
    for node in ctx.walk_values(value):
        if isinstance(node, ast.Dict):
            for key in node.keys:
                text = _text(ctx, key)
                if text and _header_key(text):
                    return f"the {text} header"
            continue
        name = _bag_name(node)
        if name is None:
            continue
        if isinstance(node, ast.Name) and [v for v in ctx.values(node) if v is not node]:
            continue  # a local mapping: its own values are walked instead
        parent = ctx.parent(node)
        if isinstance(parent, ast.Subscript) and parent.value is node:
            text = _text(ctx, parent.slice)
            if text is not None:
                if is_credential_header(text) and not _only_presence(ctx, parent):
                    return f"the {text} header"
                continue
        if isinstance(parent, ast.Attribute) and parent.attr in _NAMES_ONLY:
            continue
        if isinstance(parent, ast.Compare):
            continue  # `"Authorization" in request.headers`: a presence test
        if isinstance(parent, ast.Attribute) and parent.attr in _NARROWING:
            call = ctx.parent(parent)
            first = call.args[0] if isinstance(call, ast.Call) and call.args else None
            text = _text(ctx, first)
            if text is not None:
                if is_credential_header(text) and not _only_presence(ctx, call or parent):
                    return f"the {text} header"
                continue
        if isinstance(parent, ast.Call) and parent.func is not node:
            callee = identifier(parent.func) or ""
            if callee in ("len", "bool", "hash", "sorted") or _REDACTING.search(callee):
                continue
        if _filtered(ctx, node):
            continue
        return "all request cookies" if name == "cookies" else "all request headers"
    return None


def _only_presence(ctx: FileContext, node: ast.AST) -> bool:
    """Whether only a fact about the value is kept: ``bool(...)``, ``len(...)``, a
    comparison (``... is not None``, ``"x" in ...``), ``not ...``."""
    if isinstance(node, ast.Compare) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    ):
        return True
    if isinstance(node, ast.Constant) and not isinstance(node.value, str | bytes):
        return True
    if isinstance(node, ast.Call) and identifier(node.func) in ("bool", "len", "hash", "int"):
        return True
    parent = ctx.parent(node)
    if isinstance(parent, ast.Compare) or (
        isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not)
    ):
        return True
    return isinstance(parent, ast.Call) and identifier(parent.func) in ("bool", "len", "hash")


def _bag_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and (node.attr.lower() in _HEADER_BAGS):
        return node.attr.lower()
    if isinstance(node, ast.Name) and node.id in ("headers", "cookies"):
        return node.id
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.slice, ast.Constant)
        and node.slice.value == "headers"
    ):
        return "headers"  # ASGI scope["headers"]
    return None


def _header_key(text: str) -> bool:
    """Whether a span attribute key names a credential header or cookie."""
    lowered = text.lower().replace("_", "-")
    if lowered in _KNOWN_HEADERS or "authorization" in lowered or "cookie" in lowered:
        return True
    return "header" in lowered and is_credential_header(lowered)


def _text(ctx: FileContext, expr: ast.AST | None) -> str | None:
    if expr is None:
        return None
    value = ctx.literal(expr)
    if isinstance(value, str):
        return value
    if isinstance(expr, ast.JoinedStr):
        return "".join(
            v.value for v in expr.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    return None


def _redacted(ctx: FileContext, value: ast.AST | None) -> bool:
    if value is None:
        return False
    for node in ctx.walk_values(value):
        if isinstance(node, ast.Call):
            callee = identifier(node.func) or ""
            if _REDACTING.search(callee):
                return True
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.strip("[]<>*").upper() in ("REDACTED", "FILTERED", "MASKED")
        ):
            return True
    return False


def _filtered(ctx: FileContext, node: ast.AST) -> bool:
    """Whether `node` only runs for some header names: inside a comprehension with a
    condition, or under an ``if`` that compares or pattern-matches."""
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, ast.comprehension) and ancestor.ifs:
            return True
        if isinstance(
            ancestor, ast.ListComp | ast.DictComp | ast.SetComp | ast.GeneratorExp
        ) and any(c.ifs for c in ancestor.generators):
            return True
        if isinstance(ancestor, ast.If | ast.IfExp | ast.While):
            for sub in ctx.walk(ancestor.test):
                if isinstance(sub, ast.Compare):
                    return True
                if isinstance(sub, ast.Call) and identifier(sub.func) in (
                    "startswith",
                    "endswith",
                    "match",
                    "fullmatch",
                    "search",
                ):
                    return True
        if isinstance(ancestor, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return False
    return False
