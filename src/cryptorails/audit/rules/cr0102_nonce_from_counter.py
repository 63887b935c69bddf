"""CR0102: a nonce or IV taken from an in-memory counter."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import NOT_CONSTANT, FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._prefilter import CIPHER
from cryptorails.audit.rules._random import (
    fresh_key,
    is_fresh_random,
    is_misuse_resistant,
    is_probe,
    is_test_code,
    key_of,
    nonce_sink,
    walk_flow,
)

_COUNT = "itertools.count"


@rule(
    code="CR0102",
    name="nonce-from-counter",
    case=1,
    severity=Severity.HIGH,
    cwe=323,
    nodes=(ast.Call,),
    # A nonce sink, and a counter: ``+=``/``-=``, ``x + 1`` or `itertools.count`.
    requires=[CIPHER, ["+", "-=", "count"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds encryption whose nonce or IV comes from a counter kept in process memory.

    ## What it does
    Follows the nonce (or IV) of AEAD and cipher-mode calls back through variables,
    parameters and helpers of the module, and reports it when it comes from a counter
    that lives in memory: a module global incremented with ``+=``, ``self.counter += 1``,
    a local that starts at a constant, or ``next()`` on an `itertools.count`. A counter
    loaded from durable storage, a counter combined with random bytes (a random prefix
    per process), and a counter under a key generated fresh for that counter's lifetime
    (a per-session key, as in TLS or Noise) are not reported, nor are nonce-misuse
    resistant AEADs (AES-GCM-SIV).

    ## Why is this bad?
    An in-memory counter starts again from its initial value when the process restarts,
    and every worker process, container replica or thread with its own copy counts the
    same values. Under one long-lived key, each repeat is a reused nonce: for GCM or
    ChaCha20-Poly1305 that exposes the XOR of the plaintexts and the authentication key.

    ## Example
    ```python
    _counter = itertools.count()

    def seal(data):
        nonce = next(_counter).to_bytes(12, "big")
        return AESGCM(KEY).encrypt(nonce, data, None)
    ```

    ## Use instead
    `cryptorails.Sealer(keyring).seal(data, ctx)`: 192-bit random nonces chosen by the
    library (XAES-256-GCM), with per-key usage budgets; if a counter is required, keep it
    in a durable store shared by every process, or use `os.urandom(12)`.

    ## References
    - NIST SP 800-38D §8.2.1 (deterministic IVs need a fixed field unique per device)
    - CWE-323: Reusing a Nonce, Key Pair in Encryption
    - RFC 5116 §3.2 (recommended nonce formation)
    """
    assert isinstance(node, ast.Call)
    sink = nonce_sink(node, ctx)
    if sink is None:
        return
    nonce, callee = sink
    if is_misuse_resistant(callee) or is_probe(node, callee) or is_test_code(ctx, node):
        return
    found = _counter(nonce, ctx)
    if found is None:
        return
    what, lifetime = found
    if any(
        isinstance(v, ast.Call) and is_fresh_random(ctx.call_name(v))
        for v in ctx.walk_values(nonce)
    ):
        return  # a random field next to the counter keeps processes apart
    if fresh_key(key_of(node, callee, ctx), ctx, per_call=lifetime == "local"):
        return
    why = (
        "it starts over at every call under the same key"
        if lifetime == "local"
        else "it starts over when the process restarts and repeats across processes"
    )
    yield ctx.report(nonce, f"nonce comes from an in-memory counter ({what}); {why}")


def _counter(nonce: ast.expr, ctx: FileContext) -> tuple[str, str] | None:
    """(description, lifetime) of the in-memory counter the nonce comes from, if any.
    Lifetime is 'module', 'instance' or 'local'."""
    for value in walk_flow(nonce, ctx):
        if _in_index(value, ctx):
            continue  # an offset into a buffer the nonce is read from
        if isinstance(value, ast.Name) and isinstance(value.ctx, ast.Load):
            lifetime = _name_counter(value, ctx)
            if lifetime is not None:
                return f"`{value.id}`", lifetime
        elif (
            isinstance(value, ast.Attribute)
            and isinstance(value.value, ast.Name)
            and value.value.id == "self"
        ):
            if _is_counter(ctx.self_attribute(value), value, ctx):
                return f"`self.{value.attr}`", "instance"
        elif (
            isinstance(value, ast.Call)
            and ctx.call_name(value) == _COUNT
            and _constant_start(value, ctx)
        ):
            return "itertools.count", _lifetime_of(value, ctx)
    return None


def _in_index(node: ast.AST, ctx: FileContext) -> bool:
    child = node
    for parent in ctx.ancestors(node):
        if isinstance(parent, ast.stmt):
            return False
        if isinstance(parent, ast.Subscript) and child is parent.slice:
            return True
        child = parent
    return False


def _name_counter(name: ast.Name, ctx: FileContext) -> str | None:
    assigned = ctx.assignments(name)
    if not assigned or not _is_counter(assigned, name, ctx):
        return None
    scope = ctx.scope_of.get(assigned[0])
    if isinstance(scope, ast.Module):
        return "module"
    if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
        return "local"
    return "instance"


def _is_counter(values: list[ast.AST], ref: ast.Name | ast.Attribute, ctx: FileContext) -> bool:
    """Incremented somewhere, and otherwise only set to constants or `itertools.count`."""
    incremented = False
    for value in values:
        if isinstance(value, ast.AugAssign):
            if not isinstance(value.op, ast.Add | ast.Sub):
                return False
            incremented = True
        elif _increments(value, ref):
            incremented = True
        elif isinstance(value, ast.Call) and ctx.call_name(value) == _COUNT:
            if not _constant_start(value, ctx):
                return False
            incremented = True
        elif not all(
            isinstance(v, ast.Constant) and type(v.value) is int for v in ctx.values(value)
        ):
            return False  # loaded from somewhere: durable or unknown
    return incremented


def _increments(value: ast.AST, ref: ast.Name | ast.Attribute) -> bool:
    """``x = x + 1`` or ``self.n = (self.n + 1) % LIMIT``."""
    target = ast.dump(ref, annotate_fields=False).replace("Store()", "Load()")
    for node in ast.walk(value):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            for side in (node.left, node.right):
                if ast.dump(side, annotate_fields=False) == target:
                    return True
    return False


def _constant_start(count: ast.Call, ctx: FileContext) -> bool:
    start = count.args[0] if count.args else None
    for k in count.keywords:
        if k.arg == "start":
            start = k.value
    return start is None or ctx.literal(start) is not NOT_CONSTANT


def _lifetime_of(value: ast.AST, ctx: FileContext) -> str:
    parent = ctx.parent(value)
    if isinstance(parent, ast.Assign):
        for target in parent.targets:
            if isinstance(target, ast.Attribute):
                return "instance"
    return "local" if ctx.enclosing_function(value) is not None else "module"
