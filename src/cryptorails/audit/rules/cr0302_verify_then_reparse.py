"""CR0302: one copy of the message is verified, another one is parsed and used."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._canonical import (
    BodyRead,
    body_reads,
    calls_in,
    is_verifier,
    mac_messages,
    parse_input,
    request_parse_root,
    reserialized,
)
from cryptorails.audit.rules._prefilter import VERIFY, group
from cryptorails.audit.rules._secret_use import reads_in

_ROUTE = re.compile(r"\.(post|put|patch|route|api_route|delete)\(")
# Parameter types that are not the parsed body.
_FRAMEWORK_TYPES = frozenset(
    {"Request", "Response", "WebSocket", "HTTPConnection", "BackgroundTasks", "Session"}
    | {"HttpRequest", "AsyncSession", "Depends", "Header", "Any", "Optional", "Settings"}
)


@rule(
    code="CR0302",
    name="verify-then-reparse",
    case=3,
    severity=Severity.HIGH,
    cwe=345,
    nodes=(ast.FunctionDef, ast.AsyncFunctionDef),
    requires=[
        ["hmac", "verif", "signature", "hashlib", "construct_event"],
        group("hmac", "hashlib", VERIFY, "signature(", "signature_", "construct_event"),
        [
            *("json", "form", "values", "files", "loads", "yaml", "pickle", "parse", "msgpack"),
            *("post", "put", "patch", "route", "delete"),
        ],
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds handlers that verify one read of the request body and use another.

    ## What it does
    In a function that checks a MAC or signature over a raw request body (``request.body``,
    ``request.get_data()``, ``await request.body()``), reports the places where the same
    request is parsed through a different read: ``request.json``,
    ``request.get_json()``, ``request.form``, ``request.values``, ``request.POST``,
    ``await request.json()``, or ``json.loads`` of another body accessor. It also
    reports the reverse order — the body parsed first and the signature then checked
    over a re-serialization of the parsed value. Parsing the very bytes that were
    verified (``json.loads(body)`` after verifying ``body``) is not reported.

    ## Why is this bad?
    The signature only vouches for the bytes it was computed over. A second read can
    see different data: form parsing consumes the stream (the verified read is then
    empty), ``request.values`` merges in the unsigned query string, a JSON accessor may
    accept another content type or encoding, and middleware or proxies may rewrite one
    view but not the other. The handler then acts on data nobody signed.

    ## Example
    ```python
    raw = request.get_data()
    if not hmac.compare_digest(sign(raw), request.headers["X-Signature"]):
        abort(401)
    event = request.get_json()
    ```

    ## Use instead
    Verify, then use what was verified: `cryptorails.webhooks.WebhookVerifier.verify`
    on the raw body and parse those same bytes with `cryptorails.canonical.loads`;
    for tokens, `cryptorails.TokenVerifier.verify` returns the payload parsed from the
    verified bytes, so there is nothing else to parse.

    ## References
    - OWASP: "Verify the integrity of the exact payload you process"
    - Stripe webhooks documentation (construct the event from the raw body)
    - CWE-345: Insufficient Verification of Data Authenticity
    """
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    if not is_verifier(node, ctx):
        return
    verified: list[BodyRead] = []
    for call in calls_in(ctx, node):
        messages = mac_messages(call, ctx)
        helper = ctx.local_function(call)
        if helper is not None and is_verifier(helper, ctx):
            messages = [*call.args, *(k.value for k in call.keywords)]
        for message in messages:
            verified.extend(body_reads(message, ctx))
            for _, target in reserialized(message, ctx):
                for parse in _parses(target, ctx):
                    yield ctx.report(
                        parse,
                        "the body is parsed before verification and the signature is then "
                        "checked over a re-serialization of the parsed value",
                    )
    if not verified:
        return
    yield from _framework_parsed(node, verified, ctx)
    roots = {r.root for r in verified}
    texts = {r.text for r in verified}
    for use in _uses(node, ctx):
        root, reads = use[1], use[2]
        if root not in roots:
            continue
        if reads is not None and (not reads or any(r.text in texts for r in reads)):
            continue  # parses the bytes that were verified
        yield ctx.report(
            use[0],
            f"`{next(iter(sorted(texts)))}` is verified, but `{ast.unparse(use[0])[:40]}` "
            "parses a separate read of the request",
        )


def _uses(
    function: ast.AST, ctx: FileContext
) -> Iterator[tuple[ast.AST, str, list[BodyRead] | None]]:
    """(node, request root, reads) for each parse of request data in `function`: reads is
    None for a parsing accessor (``request.json``), else the body reads it parses."""
    parents = ctx.parents
    skipped: set[ast.AST] = set()  # nested functions and classes, parsing accessors
    for node in ctx.walk(function)[1:]:
        if parents.get(node) in skipped or isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            skipped.add(node)
            continue
        root = request_parse_root(node)
        if root is not None:
            yield node, root, None
            skipped.add(node)
            continue
        if isinstance(node, ast.Call):
            text = parse_input(node, ctx)
            if text is not None:
                reads = body_reads(text, ctx)
                for read in reads:
                    yield node, read.root, reads
                    break


def _framework_parsed(
    function: ast.FunctionDef | ast.AsyncFunctionDef, verified: list[BodyRead], ctx: FileContext
) -> Iterator[Finding]:
    """FastAPI-style handlers: the raw body of ``request`` is verified, while a parameter
    typed as a model (parsed by the framework from its own read) is what gets used."""
    arguments = [*function.args.args, *function.args.kwonlyargs]
    roots = {r.root for r in verified}
    handler = any(_type_name(a) == "Request" for a in arguments if a.arg in roots) or any(
        _ROUTE.search(ast.unparse(d)) for d in function.decorator_list
    )
    if not handler or not any(a.arg in roots for a in arguments):
        return
    for arg in arguments:
        name = _type_name(arg)
        if arg.arg in roots or not name or not name[:1].isupper() or name in _FRAMEWORK_TYPES:
            continue
        for use in reads_in(ctx, function, arg.arg):
            yield ctx.report(
                use,
                f"the raw body is verified, but `{arg.arg}` ({name}) was parsed by the "
                "framework from a separate read",
            )
            break


def _type_name(arg: ast.arg) -> str | None:
    annotation = arg.annotation
    if isinstance(annotation, ast.Attribute):
        return annotation.attr
    return annotation.id if isinstance(annotation, ast.Name) else None


def _parses(target: ast.expr, ctx: FileContext) -> Iterator[ast.AST]:
    """Where the value that gets re-serialized was parsed from the request."""
    for value in ctx.walk_values(target):
        if request_parse_root(value) is not None:
            yield value
            return
        if isinstance(value, ast.Call) and parse_input(value, ctx) is not None:
            yield value
            return
