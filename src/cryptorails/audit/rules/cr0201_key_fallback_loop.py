"""CR0201: trying several keys until one verifies or decrypts."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator

from cryptorails.audit._context import FileContext, child_nodes
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._jwt import decode_flavor
from cryptorails.audit.rules._prefilter import VERIFY, group

# Methods whose receiver holds the key: Fernet(k).decrypt, pub.verify, Signer(k).unsign.
_KEYED_METHODS = frozenset(
    {"decrypt", "decrypt_at_time", "verify", "unsign", "unsign_object", "loads"}
    | {"decrypt_and_verify", "verify_signature"}
)
_MAC_CALLS = frozenset({"hmac.new", "hmac.HMAC", "hmac.digest"})
# The last parts of `_MAC_CALLS` and of the JWT decoders (`decode_flavor`).
_TRIAL_TAILS = frozenset({"new", "HMAC", "digest", "decode", "decode_complete", "verify"})
_COMPARES = ("compare_digest", "constant_time_compare")
_VERIFY_NAME = re.compile(r"verif|decrypt|unsign|check_sig|valid_sig|is_valid|signature|_mac|hmac")
_KEYISH = re.compile(r"key|secret|fernet|signer|cipher|pem|jwk|kek|passphrase|password|cert")
_EXITS = (ast.Return, ast.Break)
_NARROWED = re.compile(r"kid|key_id|identifier|prefix")
_SIGNING_WORDS = ("sign", "mac", "digest")
# Methods that only a keyed object has; other keyed methods need a key-like receiver.
_CRYPTO_METHODS = frozenset({"decrypt", "decrypt_at_time", "unsign", "unsign_object"})

Trial = tuple[str, str, str]  # (operation, data, key) as ast dumps
# Prefilter words (see `requires`): what a trial needs on its own, the other callee names
# of `_VERIFY_NAME`, `unsign` as a callee, and `_KEYISH`.
_ANY_TRIAL = ("jwt", "decrypt", "hmac", "compare_digest", "constant_time_compare")
_NAMED = ("check_sig", "valid_sig", "is_valid", "signature", "_mac")
# ... as callees given arguments (``is_valid()`` cannot be keyed by a loop variable).
_NAMED_CALLS = (
    "check_sig", "valid_sig", "is_valid_", "signature(", "signature_", "_mac",
    *(f"is_valid({c}" for c in "abcdefghijklmnopqrstuvwxyz0123456789_'\"([{*-\n .~+"),
)  # fmt: skip
_UNSIGN = (".unsign", "unsign(", "unsign_", "_unsign", "unsigned(")
_KEYISH_WORDS = (
    *("key", "secret", "fernet", "signer", "cipher", "pem", "jwk", "kek", "passphrase"),
    *("password", "cert"),
)


@rule(
    code="CR0201",
    name="key-fallback-loop",
    case=2,
    severity=Severity.MEDIUM,
    cwe=347,
    nodes=(ast.For, ast.AsyncFor, ast.Try, ast.BoolOp, ast.If, ast.GeneratorExp),
    # A JWT decode, a decryption, a MAC or a compare (`_ANY_TRIAL`); a keyed method
    # (`_KEYED_METHODS`) called on the loop variable; or a callee named like
    # `_VERIFY_NAME` with key-named arguments or loop (`_KEYISH`). Coarse gates first.
    requires=[
        group(_ANY_TRIAL, "verif", "unsign", "loads", _NAMED),
        group(_ANY_TRIAL, VERIFY, _UNSIGN, ".loads", _NAMED_CALLS),
        group(_ANY_TRIAL, "verif", "unsign", "loads", _KEYISH_WORDS),
        group(_ANY_TRIAL, ".verify", ".unsign", ".loads", _KEYISH_WORDS),
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds code that tries one key after another until a token verifies or decrypts.

    ## What it does
    Reports loops over keys or secrets whose body verifies or decrypts with the current
    key and leaves the loop on success (``for key in keys: try: return
    Fernet(key).decrypt(token) except InvalidToken: continue``, or an HMAC recomputed per
    secret and compared), ``any(...)`` over keys, and fallback chains that retry the same
    data with another key: ``try: verify(new) except: verify(old)``, ``verify(a) or
    verify(b)``, ``if verify(a): ... elif verify(b): ...``. Candidates already narrowed
    by the message's key id (``for k in keyset.keys_for_kid(kid)``, Tink's
    ``primitive_from_identifier(prefix)``) are not reported. A loop over *signatures* with
    one key (Standard Webhooks, Stripe), and a retry with the same key (another padding,
    ``verify_exp`` off) are not reported. `cryptography.fernet.MultiFernet` is not
    reported either: it is the library's deliberate rotation API over a fixed, ordered,
    server-side list of keys of one purpose, with `rotate()` to re-encrypt under the
    primary — the hand-written loops this rule finds are the ones without that contract
    (mixed purposes or tenants, swallowed errors, no way to retire a key).

    ## Why is this bad?
    Every key in the list is accepted for every message: a token made for one tenant,
    purpose or environment is valid wherever another of the keys is, and a retired
    ("old") key stays valid forever because nothing says which key a message claims.
    Catching the failure to try the next key also hides real errors, and the time taken
    reveals which key matched.

    ## Example
    ```python
    for secret in [settings.WEBHOOK_SECRET, settings.OLD_WEBHOOK_SECRET]:
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, signature):
            return True
    ```

    ## Use instead
    Name the key: `cryptorails.Sealer` and `cryptorails.TokenVerifier` carry a key id in
    the blob or token and look it up inside the one keyset of the trusted
    `cryptorails.Context`, so rotation keeps old keys decrypt-only without trial
    decryption; `cryptorails.webhooks.WebhookVerifier` handles secret rotation by key id.

    ## References
    - RFC 7515 §4.1.4 (kid: select the key, do not search)
    - NIST SP 800-57 Part 1 §5.3 (cryptoperiods; retiring keys)
    - CWE-347: Improper Verification of Cryptographic Signature
    """
    if not _any_call(ctx, _candidate):
        return  # nothing in this module verifies or decrypts (a trial is a candidate too)
    if isinstance(node, ast.For | ast.AsyncFor):
        if _trial_loop(node, node.target, node.iter, node.body, ctx):
            yield ctx.report(node, "tries each key in turn until one verifies or decrypts")
    elif isinstance(node, ast.GeneratorExp):
        holder = ctx.parent(node)
        if (
            isinstance(holder, ast.Call)
            and ctx.call_name(holder) == "any"
            and len(node.generators) == 1
            and _keyed_by(node.elt, node.generators[0].target, node.generators[0].iter, ctx)
        ):
            yield ctx.report(holder, "accepts the message if any of several keys verifies it")
    elif isinstance(node, ast.Try):
        yield from _try_chain(node, ctx)
    elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        trials = [t for v in node.values for t in _trials(v, ctx)]
        if _fallback(trials):
            yield ctx.report(node, "falls back to another key when the first does not verify")
    elif isinstance(node, ast.If) and len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
        first, second = _trials(node.test, ctx), _trials(node.orelse[0].test, ctx)
        if _fallback(first + second) and first and second:
            yield ctx.report(
                node.orelse[0], "falls back to another key when the first does not verify"
            )


def _try_chain(node: ast.Try, ctx: FileContext) -> Iterator[Finding]:
    first = [t for s in node.body for t in _trials(s, ctx)]
    if not first:
        return
    for handler in node.handlers:
        for statement in handler.body:
            for call in _calls(statement):
                second = _trial(call, ctx)
                if second is not None and _fallback([*first, second]):
                    yield ctx.report(call, "retries with another key after verification failed")
                    return


def _trial_loop(
    loop: ast.AST, target: ast.expr, iterable: ast.expr, body: list[ast.stmt], ctx: FileContext
) -> bool:
    calls = [call for statement in body for call in _calls(statement)]
    if not any(_candidate(call, ctx) for call in calls):
        return False  # nothing in the loop verifies or decrypts at all
    if _NARROWED.search(ast.unparse(iterable).lower()):
        return False  # candidates already selected by the message's key id (Tink prefixes)
    names, named = _loop_names(target, iterable)
    for call in calls:
        if _keyed(call, names, named, ctx) and _exits_on_success(call, loop, ctx):
            return True
    return False


def _keyed_by(expr: ast.AST, target: ast.expr, iterable: ast.expr, ctx: FileContext) -> bool:
    """Whether `expr` verifies/decrypts with a key taken from the loop variable."""
    if not any(_candidate(call, ctx) for call in _calls(expr)):
        return False
    return _keyed(expr, *_loop_names(target, iterable), ctx)


def _loop_names(target: ast.expr, iterable: ast.expr) -> tuple[set[str], bool]:
    """The loop variables, and whether the loop is named for keys (`_KEYISH`)."""
    names = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    named = bool(_KEYISH.search(ast.unparse(target).lower() + " " + ast.unparse(iterable).lower()))
    return names, named


def _keyed(expr: ast.AST, names: set[str], named: bool, ctx: FileContext) -> bool:
    return any(
        _candidate(call, ctx) and _call_keyed_by(call, names, named, ctx) for call in _calls(expr)
    )


def _any_call(ctx: FileContext, test: Callable[[ast.Call, FileContext], object]) -> bool:
    """Whether some call of the module passes `test` (once per file and test)."""
    key = ("CR0201", "any", test.__name__)
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = any(
            test(call, ctx) for call in ctx.by_type.get(ast.Call, ()) if isinstance(call, ast.Call)
        )
    return found is True


def _candidate(call: ast.Call, ctx: FileContext) -> bool:
    """Whether `_call_keyed_by` can hold for `call` with some loop (once per call)."""
    key = ("CR0201", "candidate", call)
    found = ctx.cache.get(key)
    if found is None:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _KEYED_METHODS:
            found = True
        elif (
            isinstance(func, ast.Attribute)
            and not (isinstance(func.value, ast.Name) and func.value.id == "self")
            and not _may_name_a_trial(func.attr)
        ):
            # The name of ``x.attr(...)`` ends with ``.attr`` unless `x` is ``self``
            # (whose attributes resolve to what was assigned to them): no resolution
            # can make it one of the names below.
            found = False
        else:
            name = ctx.call_name(call) or ""
            found = bool(
                name in _MAC_CALLS
                or name.endswith(_COMPARES)
                or _VERIFY_NAME.search(name.rsplit(".", 1)[-1].lower())
                or decode_flavor(call, ctx)
            )
        ctx.cache[key] = found
    return found is True


def _may_name_a_trial(attr: str) -> bool:
    """Whether a callee name ending with ``.attr`` can pass `_candidate`'s name tests
    (`_MAC_CALLS`, `_COMPARES`, `_VERIFY_NAME`, `decode_flavor`'s JWT decoders)."""
    return (
        attr in _TRIAL_TAILS
        or attr.endswith(_COMPARES)
        or _VERIFY_NAME.search(attr.lower()) is not None
    )


def _call_keyed_by(call: ast.Call, names: set[str], named: bool, ctx: FileContext) -> bool:
    name = ctx.call_name(call) or ""
    func = call.func
    if decode_flavor(call, ctx):
        return _uses(call_argument(call, 1, "key"), names, ctx)
    if isinstance(func, ast.Attribute) and func.attr in _KEYED_METHODS:
        return _uses(func.value, names, ctx) and not _is_module(func.value, ctx)
    if name in _MAC_CALLS:
        return _uses(call_argument(call, 0, "key"), names, ctx)
    if name.endswith(_COMPARES):
        return any(_mac_key_from(a, names, named, ctx) for a in call.args)
    if named and _VERIFY_NAME.search(name.rsplit(".", 1)[-1].lower()):
        return any(_uses(a, names, ctx) for a in call.args[1:]) or any(
            _uses(k.value, names, ctx) for k in call.keywords
        )
    return False


def _mac_key_from(expr: ast.AST, names: set[str], named: bool, ctx: FileContext) -> bool:
    """An operand computed by a MAC (or a signing helper) keyed by a loop variable."""
    for value in ctx.walk_values(expr):
        if not isinstance(value, ast.Call):
            continue
        name = ctx.call_name(value) or ""
        if name in _MAC_CALLS or name.endswith("hmac.HMAC"):
            keyed = _uses(call_argument(value, 0, "key"), names, ctx)
        elif named and any(w in name.rsplit(".", 1)[-1].lower() for w in _SIGNING_WORDS):
            keyed = any(_uses(a, names, ctx) for a in value.args)
        else:
            keyed = False
        if keyed:
            return True
    return False


def _uses(expr: ast.AST | None, names: set[str], ctx: FileContext) -> bool:
    if expr is None:
        return False
    return any(isinstance(n, ast.Name) and n.id in names for n in ctx.walk_values(expr))


def _is_module(expr: ast.AST, ctx: FileContext) -> bool:
    return isinstance(expr, ast.Name) and expr.id in ctx.imports


def _exits_on_success(call: ast.Call, loop: ast.AST, ctx: FileContext) -> bool:
    """Leaving the loop follows the call's success: return/break in the same try body
    or else-branch (with a handler that moves on), or in the branch it guards."""
    child: ast.AST = call
    for parent in ctx.ancestors(call):
        if parent is loop:
            return False
        if isinstance(parent, ast.Try) and child in parent.body:
            moves_on = any(not _raises(h.body) for h in parent.handlers)
            if moves_on and (_has_exit([*parent.body, *parent.orelse])):
                return True
            skips = all(h.body and isinstance(h.body[-1], ast.Continue) for h in parent.handlers)
            looping = isinstance(loop, ast.For | ast.AsyncFor) and _has_exit(loop.body)
            if parent.handlers and skips and looping:
                return True
        if isinstance(parent, ast.If) and child is parent.test and _has_exit(parent.body):
            return True
        target = parent.targets[0] if isinstance(parent, ast.Assign) else None
        if isinstance(target, ast.Name) and _guarded_exit(target.id, loop):
            return True
        child = parent
    return False


def _guarded_exit(name: str, loop: ast.AST) -> bool:
    for node in ast.walk(loop):
        if (
            isinstance(node, ast.If)
            and _has_exit(node.body)
            and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.test))
        ):
            return True
    return False


def _has_exit(body: list[ast.stmt]) -> bool:
    for statement in body:
        for node in _walk_no_nested(statement):
            if isinstance(node, _EXITS):
                return True
    return False


def _raises(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], ast.Raise)


def _walk_no_nested(node: ast.AST) -> Iterator[ast.AST]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        for child in child_nodes(current):
            nested = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            inner_loop = (
                isinstance(child, ast.For | ast.While | ast.AsyncFor) and current is not node
            )
            if not nested and not inner_loop:
                stack.append(child)


def _calls(node: ast.AST) -> Iterator[ast.Call]:
    for inner in _walk_no_nested(node):
        if isinstance(inner, ast.Call):
            yield inner


def _trials(node: ast.AST, ctx: FileContext) -> list[Trial]:
    return [t for c in _calls(node) if (t := _trial(c, ctx)) is not None]


def _trial(call: ast.Call, ctx: FileContext) -> Trial | None:
    """(operation, data, key) of a verifying/decrypting call (once per call)."""
    key = ("CR0201", "trial", call)
    if key not in ctx.cache:
        ctx.cache[key] = _compute_trial(call, ctx)
    return ctx.cache[key]  # type: ignore[return-value]


def _compute_trial(call: ast.Call, ctx: FileContext) -> Trial | None:
    """(operation, data, key) of a verifying/decrypting call, for fallback comparison."""
    name = ctx.call_name(call) or ""
    func = call.func
    if decode_flavor(call, ctx):
        data, key = call_argument(call, 0, "jwt"), call_argument(call, 1, "key")
        if data is None or key is None:
            return None
        return name, ast.dump(data), ast.dump(key)
    if isinstance(func, ast.Attribute) and func.attr in _KEYED_METHODS and call.args:
        receiver = ast.unparse(func.value).lower()
        if _is_module(func.value, ctx) or not (
            func.attr in _CRYPTO_METHODS or _KEYISH.search(receiver) or "serializer" in receiver
        ):
            return None
        arguments = ast.dump(ast.Tuple(elts=list(call.args), ctx=ast.Load()))
        return func.attr, arguments, ast.dump(func.value)
    last = name.rsplit(".", 1)[-1].lower()
    if _VERIFY_NAME.search(last) and len(call.args) >= 2:
        keys = [a for a in call.args[1:] if _KEYISH.search(ast.unparse(a).lower())]
        if keys:
            return name, ast.dump(call.args[0]), ast.dump(ast.Tuple(elts=keys, ctx=ast.Load()))
    return None


def _fallback(trials: list[Trial]) -> bool:
    """Two trials of one operation over the same data with different keys."""
    for i, (op, data, key) in enumerate(trials):
        for other_op, other_data, other_key in trials[i + 1 :]:
            if op == other_op and data == other_data and key != other_key:
                return True
    return False
