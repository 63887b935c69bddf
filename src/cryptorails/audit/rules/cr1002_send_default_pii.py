"""CR1002: Sentry told to send cookies, headers and user data with every event."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument, identifier

_SENTRY = frozenset(
    {
        "sentry_sdk.init",
        "sentry_sdk.Client",
        "sentry_sdk.client.Client",
        "sentry_sdk.client._Client",
    }
)
_SENTRY_ATTRS = frozenset(name.rsplit(".", 1)[-1] for name in _SENTRY)
_SENSITIVE_PART = re.compile(r"header|cookie|authorization|user|ip_address|request", re.I)
_SCRUBBING = re.compile(r"redact|mask|scrub|sanitiz|filter|strip|censor|remove|drop", re.I)


@rule(
    code="CR1002",
    name="send-default-pii",
    case=10,
    severity=Severity.MEDIUM,
    cwe=359,
    nodes=(ast.Call,),
    requires=[["sentry"], ["send_default_pii"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds `sentry_sdk.init(send_default_pii=True)`.

    ## What it does
    Reports `send_default_pii=True` given to `sentry_sdk.init` or `sentry_sdk.Client`,
    directly, through a module constant, or inside an options mapping passed as
    ``**options`` (a dict literal or `dict(...)`). A `before_send` hook defined in the
    module that removes or masks the request headers, cookies or user data keeps it
    quiet.

    ## Why is this bad?
    With this flag the SDK attaches the request's cookies, the `Authorization` header,
    the client IP and the logged-in user to every error and transaction it sends to a
    third party. Session cookies and bearer tokens in an error tracker are credentials
    anyone on the project can replay, and the personal data makes the tracker a store
    of personal data with its own retention and access duties.

    ## Example
    ```python
    sentry_sdk.init(dsn=SENTRY_DSN, send_default_pii=True, traces_sample_rate=0.1)
    ```

    ## Use instead
    Leave `send_default_pii` off (the default) and attach only the identifiers you need
    (`sentry_sdk.set_user({"id": user.id})`); scrub what remains with a `before_send`
    built on `cryptorails.redact` (its value detectors and name rules mask tokens,
    cookies and keys wherever they appear in the event).

    ## References
    - CWE-359: Exposure of Private Personal Information to an Unauthorized Actor
    - Sentry Python SDK options: `send_default_pii` ("sends PII such as HTTP headers,
      cookies and user IP")
    - OWASP Logging Cheat Sheet (data to exclude)
    """
    assert isinstance(node, ast.Call)
    func = node.func
    if (
        isinstance(func, ast.Attribute)
        and func.attr not in _SENTRY_ATTRS
        and not (isinstance(func.value, ast.Name) and func.value.id == "self")
    ):
        return  # a qualified name ends with the attribute (but `self.x` is x's value)
    if ctx.call_name(node) not in _SENTRY:
        return
    culprit = _pii_on(ctx, node)
    if culprit is None or _scrubbed(ctx, node):
        return
    yield ctx.report(
        culprit,
        "send_default_pii=True sends cookies, the Authorization header, IPs and users to Sentry",
    )


def _pii_on(ctx: FileContext, call: ast.Call) -> ast.AST | None:
    """The expression that turns `send_default_pii` on, if one does."""
    for keyword in call.keywords:
        if keyword.arg == "send_default_pii":
            return keyword.value if ctx.literal(keyword.value) is True else None
        if keyword.arg is None:  # **options
            for value in ctx.values(keyword.value):
                found = _in_mapping(ctx, value)
                if found is not None:
                    return found
    return None


def _in_mapping(ctx: FileContext, mapping: ast.AST) -> ast.AST | None:
    if isinstance(mapping, ast.Dict):
        for key, value in zip(mapping.keys, mapping.values, strict=True):
            if key is not None and ctx.literal(key) == "send_default_pii":
                return value if ctx.literal(value) is True else None
    elif isinstance(mapping, ast.Call) and identifier(mapping.func) == "dict":
        for keyword in mapping.keywords:
            if keyword.arg == "send_default_pii" and ctx.literal(keyword.value) is True:
                return keyword.value
    return None


def _scrubbed(ctx: FileContext, call: ast.Call) -> bool:
    """Whether a `before_send` of this module removes or masks headers, cookies or user
    data (or comes from `cryptorails.redact`)."""
    hook = call_argument(call, None, "before_send")
    if hook is None:
        return False
    if (ctx.qualname(hook) or "").startswith("cryptorails.redact"):
        return True
    functions: list[ast.AST] = [
        v for v in ctx.values(hook) if isinstance(v, ast.FunctionDef | ast.Lambda)
    ]
    if isinstance(hook, ast.Name):
        functions.extend(ctx.functions.get(hook.id, []))
    for function in functions:
        touches = mutates = False
        for sub in ctx.walk(function):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                touches = touches or _SENSITIVE_PART.search(sub.value) is not None
            elif isinstance(sub, ast.Delete):
                mutates = True
            elif isinstance(sub, ast.Call):
                name = identifier(sub.func) or ""
                mutates = mutates or name in ("pop", "clear") or bool(_SCRUBBING.search(name))
            elif isinstance(sub, ast.Assign) and any(
                isinstance(t, ast.Subscript) for t in sub.targets
            ):
                mutates = True
        if touches and mutates:
            return True
    return False
