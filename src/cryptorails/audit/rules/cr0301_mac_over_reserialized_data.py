"""CR0301: a MAC or signature checked over re-serialized data, not the received bytes."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._canonical import (
    calls_in,
    calls_in_last_first,
    is_verifier,
    mac_messages,
    reserialized,
)
from cryptorails.audit.rules._prefilter import VERIFY, group


@rule(
    code="CR0301",
    name="mac-over-reserialized-data",
    case=3,
    severity=Severity.MEDIUM,
    cwe=347,
    nodes=(ast.FunctionDef, ast.AsyncFunctionDef),
    # `mac_messages` (a MAC, a keyed hash, a `.verify` or a verifying library call) over
    # a `reserialized` value (`_DUMPS`, ``model_dump_json``).
    requires=[
        ["hmac", "hashlib", "verif", "signature", "construct_event"],
        group("hmac", "hashlib", VERIFY, "signature(", "signature_", "construct_event"),
        ["dump", "str(", "repr(", "urlencode", "packb"],
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds signature checks computed over a re-serialization of parsed data.

    ## What it does
    In functions that check a MAC or signature (they compare digests, call `.verify`,
    or are named like a check), follows the data given to `hmac.new`, `HMAC.update`,
    `hashlib` with a secret, a key's `.verify` or a webhook library's verify call, and
    reports it when it is ``json.dumps(...)``, ``str(...)``/``repr(...)`` of parsed
    data, ``urlencode(...)`` of a parsed form, or a model's ``model_dump_json()`` —
    including through a helper that MACs its parameter. Signing code that serializes its
    own data and sends exactly those bytes is not reported, nor is a message rebuilt
    from a literal dict of fields, nor data parsed with `cryptorails.canonical.loads`.

    ## Why is this bad?
    The sender signed bytes; the verifier parses them and serializes the result again.
    Key order, whitespace, number and Unicode formatting, and duplicate keys make the
    two differ, so valid messages fail — and the usual "fix" is to loosen or skip the
    check. Worse, what is verified is the verifier's own rendering of what its parser
    understood, so a body that other parsers (or later code reading the raw bytes) read
    differently still passes.

    ## Example
    ```python
    payload = request.get_json()
    expected = hmac.new(SECRET, json.dumps(payload).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers["X-Signature"]):
        abort(401)
    ```

    ## Use instead
    Verify the raw body bytes exactly as received, then parse those bytes:
    `cryptorails.webhooks.WebhookVerifier.verify(body, headers)`; for signed JSON of
    your own, sign `cryptorails.canonical.dumps(...)` bytes and read tokens with
    `cryptorails.TokenVerifier.verify`, which returns the payload parsed from the
    verified bytes.

    ## References
    - RFC 8785 (JSON Canonicalization Scheme), §1 on why re-serialization differs
    - Stripe, GitHub and Standard Webhooks documentation: verify the raw request body
    - CWE-347: Improper Verification of Cryptographic Signature
    """
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    if not is_verifier(node, ctx):
        return
    reported: set[int] = set()
    for call in calls_in(ctx, node):
        for message in mac_messages(call, ctx):
            for dump, target in reserialized(message, ctx):
                if id(dump) not in reported:
                    reported.add(id(dump))
                    yield ctx.report(dump, _message(dump, target))
        helper = ctx.local_function(call)
        if helper is None or is_verifier(helper, ctx):
            continue  # a verifying helper is checked (and reported) on its own
        for dump, argument in _helper_reserializes(call, helper, ctx):
            if id(call) not in reported:
                reported.add(id(call))
                yield ctx.report(
                    call,
                    f"the signature is recomputed by {helper.name}() over "
                    f"{_what(dump)} of `{ast.unparse(argument)[:40]}`, not the received bytes",
                )


def _helper_reserializes(
    call: ast.Call, helper: ast.FunctionDef | ast.AsyncFunctionDef, ctx: FileContext
) -> Iterator[tuple[ast.Call, ast.expr]]:
    """A helper that MACs a serialization of one of its parameters, and the argument
    passed for it here (when that argument is not a literal built in place)."""
    params = [*helper.args.posonlyargs, *helper.args.args]
    if params and params[0].arg in ("self", "cls") and isinstance(call.func, ast.Attribute):
        params = params[1:]
    for inner in calls_in_last_first(ctx, helper):
        for message in mac_messages(inner, ctx):
            for dump, target in reserialized(message, ctx):
                if not isinstance(target, ast.Name):
                    continue
                for index, param in enumerate(params):
                    if param.arg == target.id and index < len(call.args):
                        argument = call.args[index]
                        if not isinstance(argument, ast.Dict | ast.List | ast.Constant):
                            yield dump, argument


def _message(dump: ast.Call, target: ast.expr) -> str:
    return (
        f"the signature is checked over {_what(dump)} of `{ast.unparse(target)[:40]}`, "
        "not the bytes that were received"
    )


def _what(dump: ast.Call) -> str:
    func = dump.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "a dump")
    return f"{name}()"
