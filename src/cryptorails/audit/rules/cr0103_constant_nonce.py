"""CR0103: a nonce or IV that is the same for every message."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import identifier
from cryptorails.audit.rules._prefilter import CIPHER
from cryptorails.audit.rules._random import (
    fresh_key,
    is_fresh_random,
    is_misuse_resistant,
    is_nonce_name,
    is_probe,
    is_test_code,
    key_of,
    nonce_sink,
    stored_state,
)

# Calls whose result depends only on their arguments (and receiver).
_PURE_CALLS = frozenset(
    {
        "bytes",
        "bytearray",
        "bytes.fromhex",
        "bytearray.fromhex",
        "binascii.unhexlify",
        "binascii.a2b_hex",
        "base64.b64decode",
        "base64.urlsafe_b64decode",
        "base64.b16decode",
        "range",
        "list",
        "tuple",
        "int",
        "str",
        "struct.pack",
    }
)
_PURE_METHODS = frozenset(
    {"encode", "to_bytes", "ljust", "rjust", "zfill", "digest", "hexdigest", "join", "lower"}
)
_CONFIG_WORDS = ("environ", "getenv", "config", "settings", "conf", "cfg", "env", "options")
_SETUP_METHODS = frozenset({"__init__", "__post_init__", "setup", "__enter__"})
_MAX_DEPTH = 8


@rule(
    code="CR0103",
    name="constant-nonce",
    case=1,
    severity=Severity.HIGH,
    cwe=323,
    nodes=(ast.Call,),
    requires=[CIPHER],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds encryption whose nonce or IV does not change from one message to the next.

    ## What it does
    Follows the nonce (or IV) of AEAD and cipher-mode calls back through variables,
    parameters (including default values) and helpers, and reports it when it is a
    literal or built only from literals (``b"\\x00" * 12``, ``bytes(16)``, a module
    constant ``IV = b"..."``), derived from the key alone (``key[:16]``), read from
    configuration (``settings.AES_IV``), or drawn once and stored (``IV = os.urandom(16)``
    at import, ``self.iv = os.urandom(16)`` in ``__init__``) and then reused by every
    call. A fixed nonce under a key generated for that one message (as age and HPKE do),
    nonce-misuse resistant AEADs (AES-GCM-SIV) and test functions are not reported.

    ## Why is this bad?
    A nonce must never repeat under one key. With GCM or ChaCha20-Poly1305 a second
    message under the same nonce reveals the XOR of the plaintexts and lets an attacker
    recover the authentication key and forge messages; with CBC a fixed IV shows which
    messages start with the same blocks; with CTR it is a two-time pad.

    ## Example
    ```python
    IV = b"0123456789abcdef"

    def encrypt(key, data):
        return Cipher(algorithms.AES(key), modes.CBC(IV)).encryptor().update(data)
    ```

    ## Use instead
    `cryptorails.Sealer(keyring).seal(data, ctx)`, which picks a fresh 192-bit random
    nonce for every message; with raw primitives, `os.urandom(12)` per message, sent
    alongside the ciphertext.

    ## References
    - NIST SP 800-38D §8 (IV uniqueness); NIST SP 800-38A Appendix C (CBC IVs)
    - CWE-323: Reusing a Nonce, Key Pair in Encryption; CWE-329
    - Böck et al., "Nonce-Disrespecting Adversaries" (WOOT 2016)
    """
    assert isinstance(node, ast.Call)
    sink = nonce_sink(node, ctx)
    if sink is None:
        return
    nonce, callee = sink
    if is_misuse_resistant(callee) or is_probe(node, callee) or is_test_code(ctx, node):
        return
    key = key_of(node, callee, ctx)
    reason = _reason(nonce, node, key, ctx)
    if reason is None or fresh_key(key, ctx, per_call=True):
        return
    yield ctx.report(nonce, f"nonce {reason}; every message under the key reuses it")


def _reason(nonce: ast.expr, sink: ast.Call, key: ast.expr | None, ctx: FileContext) -> str | None:
    key_leaves = {ast.dump(key)} if key is not None else set()
    values = ctx.values(nonce)
    for value in values:
        if isinstance(value, ast.Constant) and not (
            isinstance(value.value, bytes | str) and value.value
        ):
            continue  # a None or empty placeholder replaced before use, or not a nonce
        if _same_every_call(value, ctx, set(), 0):
            return f"is a constant (`{_short(value)}`)"
        if key_leaves and _same_every_call(value, ctx, key_leaves, 0):
            return f"is derived from the key alone (`{_short(value)}`)"
    for value in ctx.walk_values(nonce):
        if _config_read(value):
            return f"is read from configuration (`{_short(value)}`)"
    return _stored_once(values, sink, ctx)


def _same_every_call(node: ast.AST, ctx: FileContext, leaves: set[str], depth: int) -> bool:
    """Whether `node` has the same value at every evaluation (built from literals and,
    when `leaves` is given, from the key), and actually uses a leaf if leaves are given."""
    if depth > _MAX_DEPTH:
        return False
    used = _ConstWalk(ctx, leaves)
    return used.same(node, depth) and (not leaves or used.hit)


class _ConstWalk:
    def __init__(self, ctx: FileContext, leaves: set[str]) -> None:
        self.ctx = ctx
        self.leaves = leaves
        self.hit = False

    def same(self, node: ast.AST, depth: int) -> bool:
        if depth > _MAX_DEPTH:
            return False
        if self.leaves and ast.dump(node) in self.leaves:
            self.hit = True
            return True
        if isinstance(node, ast.Constant):
            return node.value is not None
        if isinstance(node, ast.Name | ast.Attribute) and not (
            isinstance(node, ast.Attribute) and not isinstance(node.value, ast.Name)
        ):
            if isinstance(node, ast.Name) and any(
                isinstance(v, ast.AugAssign) for v in self.ctx.assignments(node)
            ):
                return False  # `values` skips `+=`: a counter is not a constant (CR0102)
            values = self.ctx.values(node)
            if any(v is node for v in values):
                values = _class_attribute(node, self.ctx)
            if not values:
                return False
            return all(self.same(v, depth + 1) for v in values)
        if isinstance(node, ast.BinOp):
            return self.same(node.left, depth + 1) and self.same(node.right, depth + 1)
        if isinstance(node, ast.UnaryOp):
            return self.same(node.operand, depth + 1)
        if isinstance(node, ast.List | ast.Tuple):
            return all(self.same(e, depth + 1) for e in node.elts)
        if isinstance(node, ast.Subscript):
            return self.same(node.value, depth + 1) and self.same(node.slice, depth + 1)
        if isinstance(node, ast.Slice):
            parts = [p for p in (node.lower, node.upper, node.step) if p is not None]
            return all(self.same(p, depth + 1) for p in parts)
        if isinstance(node, ast.JoinedStr | ast.FormattedValue):
            inner = node.values if isinstance(node, ast.JoinedStr) else [node.value]
            return all(self.same(v, depth + 1) for v in inner)
        if isinstance(node, ast.Call):
            return self._same_call(node, depth)
        return False

    def _same_call(self, call: ast.Call, depth: int) -> bool:
        args = [*call.args, *(k.value for k in call.keywords)]
        if any(isinstance(a, ast.Starred) for a in call.args):
            return False
        name = self.ctx.call_name(call) or ""
        func = call.func
        if name in _PURE_CALLS or name.startswith("hashlib."):
            receiver_ok = not (
                isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
            ) or self.same(func.value, depth + 1)
            return receiver_ok and all(self.same(a, depth + 1) for a in args)
        if isinstance(func, ast.Attribute) and func.attr in _PURE_METHODS:
            return self.same(func.value, depth + 1) and all(self.same(a, depth + 1) for a in args)
        return False


def _class_attribute(node: ast.AST, ctx: FileContext) -> list[ast.AST]:
    """What the class body assigns to ``self.X``/``cls.X`` (``IV = b"..."`` in the class)."""
    if not (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("self", "cls")
    ):
        return []
    cls = ctx.enclosing_class(node)
    if cls is None:
        return []
    return list(ctx.assigned.get(cls, {}).get(node.attr, []))


def _config_read(node: ast.AST) -> bool:
    """``settings.AES_IV``, ``os.environ["IV"]``, ``config.get("nonce")``."""
    if isinstance(node, ast.Subscript | ast.Attribute):
        base = node.value
        name = identifier(node)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            return False
        base, name = node.func, first.value.lower()
    else:
        return False
    if not is_nonce_name(name):
        return False
    text = ast.unparse(base).lower()
    return any(w in text for w in _CONFIG_WORDS)


def _stored_once(values: list[ast.AST], sink: ast.Call, ctx: FileContext) -> str | None:
    function = ctx.enclosing_function(sink)
    if function is None:
        return None
    fresh = [v for v in values if isinstance(v, ast.Call) and is_fresh_random(ctx.call_name(v))]
    if not fresh or len(fresh) != len(values):
        return None
    states = set()
    for value in fresh:
        state = stored_state(value, ctx)
        owner = ctx.enclosing_function(value)
        if state in ("module", "class") and owner is None:
            states.add("at import")
        elif state == "instance" and owner is not None and owner.name in _SETUP_METHODS:
            if owner is function:
                return None
            states.add(f"in {owner.name}")
        else:
            return None
    return f"is drawn once ({', '.join(sorted(states))}) and stored"


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."
