"""CR0401: a signed request checked against a timestamp window, but never deduplicated."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import identifier
from cryptorails.audit.rules._leak import name_category
from cryptorails.audit.rules._prefilter import CLOCK, CLOCK_GATE, MAC, SIG, VERIFY, group
from cryptorails.audit.rules._time import own_nodes, words_of
from cryptorails.audit.rules._windows import first_windows

# Calls that record an id somewhere: any of these in the handler (or a helper or caller
# of it) means the author thought about replay, and CR0402 judges the store itself.
_STORE_METHODS = frozenset(
    {"add", "sadd", "set", "setnx", "setex", "insert", "insert_one", "claim", "setdefault",
     "put_item", "create", "get_or_create", "check_and_set", "add_nonce"}
)  # fmt: skip
_STORE_WORDS = frozenset(
    {"replay", "nonce", "nonces", "seen", "dedup", "dedupe", "idempotency", "idempotent",
     "processed", "consume", "claim", "remember", "jti", "guard", "once"}
)  # fmt: skip
_ID_WORDS = frozenset(
    {"id", "ids", "cache", "used", "jti", "signature", "sig", "messages", "events", "deliveries"}
)
_REQUEST_WORDS = frozenset(
    {"request", "req", "headers", "header", "body", "payload", "event", "webhook", "message",
     "msg", "environ"}
)  # fmt: skip
_ROUTE_WORDS = frozenset({"route", "post", "put", "api", "view", "webhook", "websocket"})
_GUARDS = ("ReplayGuard", "Idempotency", "replay", "Replay")


@rule(
    code="CR0401",
    name="timestamp-window-without-replay-store",
    case=4,
    severity=Severity.MEDIUM,
    cwe=294,
    nodes=(ast.Module,),
    # A window reads a wall clock (`first_windows`); `_verifies_signature` needs a MAC,
    # a compare, a `_VERIFY_WORDS` callee or a signature-named operand.
    requires=[
        CLOCK_GATE,
        ["sig", "compare", "digest", "verif", "mac"],
        CLOCK,
        group(SIG, VERIFY, MAC, "compare", "digest"),
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds signed-request handlers that bound the timestamp but keep no replay record.

    ## What it does
    Reports a function that compares a request timestamp with the clock
    (`abs(time.time() - int(ts)) > 300`, `now - ts > tolerance`) where that function,
    a helper it calls or a function that calls it also verifies a signature or MAC, but
    none of them records the message's id, nonce or signature anywhere (no `add`, `set`,
    `setnx`, `insert`, `claim`, no `ReplayGuard`).

    ## Why is this bad?
    The window only limits *when* a captured request can be sent again, not *how often*.
    Anyone who sees one signed request (a proxy log, a leaked webhook delivery, a
    compromised client) can resend it as many times as they like for the whole window,
    to every server behind the load balancer: a payment notification credited twice,
    a password reset replayed.

    ## Example
    ```python
    def slack_events(headers, body):
        ts = headers["X-Slack-Request-Timestamp"]
        if abs(time.time() - int(ts)) > 300:
            raise Forbidden()
        mac = hmac.new(SECRET, f"v0:{ts}:".encode() + body, "sha256").hexdigest()
        if not hmac.compare_digest("v0=" + mac, headers["X-Slack-Signature"]):
            raise Forbidden()
        return handle(body)
    ```

    ## Use instead
    Record each message once in a store every server shares:
    `cryptorails.ReplayGuard(open_store("redis://..."), Window(...)).check(namespace,
    message_id, timestamp)`, or `cryptorails.webhooks.WebhookVerifier(secret,
    guard=guard)`, which checks the signature, the symmetric window and the replay
    record in one call.

    ## References
    - CWE-294: Authentication Bypass by Capture-replay
    - Standard Webhooks specification, "Verifying webhook authenticity" (replay prevention)
    - Slack API, "Verifying requests from Slack"
    """
    for function, windows in first_windows(ctx).items():
        window = windows[0]
        unit = _related_functions(ctx, function)
        if not any(_verifies_signature(ctx, fn) for fn in unit):
            continue
        if not any(_handles_request(ctx, fn) for fn in unit):
            continue  # a token's own max age (password reset links): not a received message
        if any(_records(ctx, fn) for fn in unit):
            continue
        yield ctx.report(
            window.compare,
            "timestamp window with no replay record: a captured signed request can be "
            "replayed for the whole window",
        )


def _function_calls(ctx: FileContext, function: ast.AST) -> Iterator[ast.Call]:
    return (n for n in own_nodes(ctx, function) if isinstance(n, ast.Call))


def _related_functions(ctx: FileContext, function: ast.AST) -> list[ast.AST]:
    """`function`, the functions of this module that call it, and the module's functions
    that any of those call (one level each way)."""
    out: list[ast.AST] = [function]
    name = getattr(function, "name", None)
    if name is not None:
        calls = [*ctx.calls_by_name.get(name, []), *ctx.calls_by_attr.get(name, [])]
        for call in calls:
            if ctx.local_function(call) is not function:
                continue
            caller = ctx.enclosing_function(call)
            if caller is not None and caller not in out:
                out.append(caller)
    for fn in list(out):
        for call in _function_calls(ctx, fn):
            callee = ctx.local_function(call) or _module_method(ctx, call)
            if callee is not None and callee not in out:
                out.append(callee)
    return out


def _module_method(ctx: FileContext, call: ast.Call) -> ast.AST | None:
    """``tracker.check(...)`` where ``tracker = NonceTracker()`` and the class is in this
    module: the method."""
    func = call.func
    if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
        return None
    dotted = ctx.qualname(func) or ""
    owner = dotted.rsplit(".", 2)[-2] if dotted.count(".") >= 1 else ""
    for method in ctx.functions.get(func.attr, []):
        cls = ctx.scope_of.get(method)
        if isinstance(cls, ast.ClassDef) and cls.name == owner:
            return method
    return None


_VERIFY_CALLS = frozenset(
    {"hmac.compare_digest", "secrets.compare_digest", "hmac.new", "hmac.digest",
     "django.utils.crypto.constant_time_compare"}
)  # fmt: skip
_VERIFY_WORDS = frozenset({"verify", "signature", "sig", "hmac", "mac", "compare", "digest"})


def _verifies_signature(ctx: FileContext, function: ast.AST) -> bool:
    """Whether `function` verifies a signature or MAC (by call or by comparing one)."""
    for call in _function_calls(ctx, function):
        name = ctx.call_name(call) or ""
        if name in _VERIFY_CALLS:
            return True
        last = name.rsplit(".", 1)[-1].lower()
        if words_of(last) & _VERIFY_WORDS and not last.startswith("get"):
            return True
    for node in own_nodes(ctx, function):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
        ):
            operands = [node.left, *node.comparators]
            if any(name_category(identifier(o)) == "signature" for o in operands):
                return True
    return False


def _handles_request(ctx: FileContext, function: ast.AST) -> bool:
    """Whether a function receives a message: a request, headers, a body or an event as a
    parameter, reads `.headers`, or is a route or webhook handler."""
    args = getattr(function, "args", None)
    if args is not None:
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if words_of(identifier(arg)) & _REQUEST_WORDS:
                return True
    for decorator in getattr(function, "decorator_list", []):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if words_of((ctx.qualname(target) or "").replace(".", "_").lower()) & _ROUTE_WORDS:
            return True
    return any(
        isinstance(n, ast.Attribute) and n.attr in ("headers", "META")
        for n in own_nodes(ctx, function)
    )


def _records(ctx: FileContext, function: ast.AST) -> bool:
    for node in own_nodes(ctx, function):
        if isinstance(node, ast.Call):
            name = ctx.call_name(node) or ""
            if any(g in name for g in _GUARDS):
                return True
            if any(k.arg == "guard" for k in node.keywords):
                return True
            func = node.func
            attr = func.attr if isinstance(func, ast.Attribute) else name.rsplit(".", 1)[-1]
            if attr in _STORE_METHODS:
                return True
            if words_of(attr.lower()) & _STORE_WORDS:
                return True
            if isinstance(func, ast.Attribute) and words_of(identifier(func.value)) & _STORE_WORDS:
                return True  # `guard.check(...)`, `nonce_store.claim(...)`
            if attr == "execute" and any(_inserts(a) for a in node.args):
                return True
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Subscript) and _id_store(t) for t in targets):
                return True
    return False


def _id_store(target: ast.Subscript) -> bool:
    """``seen[msg_id] = now``, ``cache[nonce] = 1``: an id written into a mapping."""
    container = words_of(identifier(target.value))
    key = words_of(identifier(target.slice)) if isinstance(target.slice, ast.Name) else set()
    return bool(container & (_STORE_WORDS | _ID_WORDS) or key & (_STORE_WORDS | _ID_WORDS))


def _inserts(arg: ast.AST) -> bool:
    for node in ast.walk(arg):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lower()
            if "insert" in text or "upsert" in text or "on conflict" in text:
                return True
    return False
