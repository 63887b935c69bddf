"""Shared vocabulary for the nonce and randomness rules (CR01xx).

* Where a nonce goes: `nonce_sink` finds the nonce/IV expression of an encrypting call,
  the known APIs of `_vocab.NONCE_ARGUMENT` first, then cipher-looking calls that take a
  ``nonce=``/``iv=`` keyword or a nonce-named argument.
* Which key it is used with: `key_of`, so that a nonce scheme that is safe *because the
  key is fresh* (a zero nonce under a per-message key, as age and HPKE do; a counter under
  a per-session key, as TLS and Noise do) is not reported.
* Which generators are cryptographically secure (`is_fresh_random`) and which are not
  (`is_insecure_random`).
* `is_test_code`: tests pin nonces to published vectors and make up passwords on purpose.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import call_argument, identifier, nonce_argument

__all__ = [
    "FRESH_RANDOM",
    "fresh_key",
    "is_fresh_random",
    "is_insecure_random",
    "is_misuse_resistant",
    "is_nonce_name",
    "is_probe",
    "is_test_code",
    "key_of",
    "nonce_sink",
    "stored_state",
    "walk_flow",
]

FRESH_RANDOM = frozenset(
    {
        "os.urandom",
        "os.getrandom",
        "secrets.token_bytes",
        "secrets.token_hex",
        "secrets.token_urlsafe",
        "secrets.randbits",
        "secrets.choice",
        "Crypto.Random.get_random_bytes",
        "Cryptodome.Random.get_random_bytes",
        "nacl.utils.random",
        "uuid.uuid4",
    }
)
_FRESH_SUFFIXES = (".generate_key", ".generate", ".generate_private_key")
_KEY_LIBRARIES = ("cryptography.", "nacl.", "Crypto.", "Cryptodome.", "jwcrypto.")
_SECURE_PREFIXES = ("random.SystemRandom", "secrets.")
# Calls of the `random`/`numpy.random` namespaces that produce no value or build a
# generator rather than draw from one.
_NOT_A_DRAW = frozenset(
    {
        "random.seed",
        "random.getstate",
        "random.setstate",
        "random.shuffle",
        "random.Random",
        "random.Random.seed",
        "random.Random.shuffle",
        "numpy.random.seed",
        "numpy.random.default_rng",
        "numpy.random.RandomState",
        "numpy.random.Generator",
        "numpy.random.shuffle",
        "numpy.random.get_state",
        "numpy.random.set_state",
    }
)
_NONCE_WORD = re.compile(r"(^|_)(nonce|nonces|iv|ivs|initialization_vector)($|_)")
_NOT_NONCE_SUFFIX = re.compile(r"_(size|len|length|bits|count|bytes_len|name|field|header)$")
# Nonce-misuse-resistant AEADs: a repeated nonce only reveals that two messages are equal.
_MISUSE_RESISTANT = ("AESGCMSIV", "AESSIV", "XChaCha20Poly1305")
_TEST_PREFIXES = ("test", "fake", "mock", "dummy", "stub")
_CIPHER_WORDS = ("encrypt", "seal", "cipher", "aead", "aes", "chacha", "salsa")
_DECRYPT_WORDS = ("decrypt", "unseal", "decipher", "open")


def walk_flow(expr: ast.AST, ctx: FileContext) -> Iterator[ast.AST]:
    """`ctx.walk_values`, plus the return values of ``obj.method()`` calls when the module
    defines exactly one method of that name (``self.nonces.next()`` on a helper class)."""
    pending: list[ast.AST] = [expr]
    extra = 0
    while pending:
        for node in ctx.walk_values(pending.pop()):
            yield node
            if (
                extra < 8
                and isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and ctx.local_function(node) is None
            ):
                defined = ctx.functions.get(node.func.attr, [])
                if len(defined) == 1 and isinstance(ctx.scope_of.get(defined[0]), ast.ClassDef):
                    extra += 1
                    pending.extend(_returns(defined[0]))


def _returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            out.append(node.value)
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return out


def is_fresh_random(qualname: str | None) -> bool:
    """Whether a call draws from the operating system's CSPRNG (or makes a fresh key)."""
    if qualname is None:
        return False
    return (
        qualname in FRESH_RANDOM
        or qualname.startswith(_SECURE_PREFIXES)
        or (qualname.startswith(_KEY_LIBRARIES) and qualname.endswith(_FRESH_SUFFIXES))
    )


def is_insecure_random(qualname: str | None) -> bool:
    """Whether a call draws from a non-cryptographic generator (Mersenne Twister, PCG)."""
    if qualname is None or qualname in _NOT_A_DRAW:
        return False
    if qualname.startswith("random.SystemRandom"):
        return False
    return qualname.startswith(("random.", "numpy.random."))


def is_nonce_name(name: str | None) -> bool:
    """`nonce`, `iv`, `gcm_nonce`, `iv_bytes`; not `nonce_size` or `iv_len`."""
    if not name or _NONCE_WORD.search(name) is None:
        return False
    return _NOT_NONCE_SUFFIX.search(name) is None


def is_misuse_resistant(callee: str) -> bool:
    return any(f".{cls}." in f".{callee}." for cls in _MISUSE_RESISTANT)


def nonce_sink(call: ast.Call, ctx: FileContext) -> tuple[ast.expr, str] | None:
    """The nonce/IV expression an encrypting `call` uses, and the callee's name.

    Known APIs first (`_vocab.NONCE_ARGUMENT`); then any call whose qualified name looks
    like a cipher (``encrypt``, ``seal``, ``Cipher``, ``aes``...), is not a decryption,
    and takes ``nonce=``/``iv=`` or passes a nonce-named variable. Calls to functions of
    this module are skipped: their own encrypting call is the sink (the data flow follows
    the parameter to this call's argument), so one nonce gives one finding.
    """
    callee = ctx.call_name(call)
    if callee is None:
        return None
    known = nonce_argument(call, callee)
    if known is not None:
        return known, callee
    raw_last = callee.rsplit(".", 1)[-1]
    last = raw_last.lower()
    if callee.startswith(("Crypto.", "Cryptodome.")) and last == "new":
        pass  # PyCryptodome's cipher factories: DES3.new(key, mode, iv=...)
    elif not (raw_last[:1].islower() and any(w in last for w in _CIPHER_WORDS)):
        return None  # a class such as EncryptedData(iv, ciphertext, tag) holds, not encrypts
    if any(w in last for w in _DECRYPT_WORDS) or ctx.local_function(call) is not None:
        return None
    if any("tag" in (identifier(a) or "") for a in [*call.args, *(k.value for k in call.keywords)]):
        return None  # given the tag: a decryption
    for keyword in call.keywords:
        if (keyword.arg or "").lower() in ("nonce", "iv", "initialization_vector"):
            return keyword.value, callee
    for arg in call.args:
        if isinstance(arg, ast.Name | ast.Attribute) and is_nonce_name(identifier(arg)):
            return arg, callee
    return None


def is_probe(call: ast.Call, callee: str) -> bool:
    """An AEAD call that encrypts a literal empty plaintext: a capability probe or
    self-test, which protects nothing whatever its nonce."""
    if not callee.endswith(".encrypt"):
        return False
    data = call_argument(call, 1, "data")
    return isinstance(data, ast.Constant) and data.value in (b"", "")


def key_of(call: ast.Call, callee: str, ctx: FileContext) -> ast.expr | None:
    """The key expression the encrypting `call` uses, when it can be found."""
    if "modes." in callee:
        return _cipher_key(call, ctx)
    func = call.func
    if callee.endswith((".encrypt", ".seal")) and isinstance(func, ast.Attribute):
        for value in ctx.values(func.value):
            if isinstance(value, ast.Call):
                key = call_argument(value, 0, "key")
                if key is not None:
                    return key
        return None
    key = call_argument(call, 0, "key")
    nonce = nonce_sink(call, ctx)
    return None if nonce is not None and nonce[0] is key else key


def _cipher_key(mode_call: ast.Call, ctx: FileContext) -> ast.expr | None:
    """The key of the `Cipher(algorithms.X(key), mode)` that `mode_call` is the mode of."""
    ciphers: list[ast.Call] = []
    parent = ctx.parent(mode_call)
    if isinstance(parent, ast.Call):
        ciphers.append(parent)
    else:
        function = ctx.enclosing_function(mode_call)
        for name in ("Cipher",):
            for c in [*ctx.calls_by_name.get(name, []), *ctx.calls_by_attr.get(name, [])]:
                if ctx.enclosing_function(c) is function:
                    mode = call_argument(c, 1, "mode")
                    if mode is not None and mode_call in ctx.values(mode):
                        ciphers.append(c)
    for cipher in ciphers:
        if not (ctx.call_name(cipher) or "").endswith("Cipher"):
            continue
        algorithm = call_argument(cipher, 0, "algorithm")
        if algorithm is None:
            continue
        for value in ctx.values(algorithm):
            if isinstance(value, ast.Call):
                key = call_argument(value, 0, "key")
                if key is not None:
                    return key
    return None


def stored_state(value: ast.AST, ctx: FileContext) -> str | None:
    """'module', 'class' or 'instance' if `value` is stored in long-lived state."""
    parent = ctx.parent(value)
    if not isinstance(parent, ast.Assign | ast.AnnAssign):
        return None
    targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
    scope = ctx.scope_of.get(parent)
    for target in targets:
        if (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id in ("self", "cls")
        ):
            return "instance"
        if isinstance(target, ast.Name):
            declared = ctx.globals_declared.get(scope, set()) if scope is not None else set()
            if isinstance(scope, ast.Module) or target.id in declared:
                return "module"
            if isinstance(scope, ast.ClassDef):
                return "class"
    return None


def fresh_key(key: ast.expr | None, ctx: FileContext, *, per_call: bool) -> bool:
    """Whether `key` comes from a CSPRNG or key generation (fresh at every call of the
    encrypting function when `per_call`, not kept in module, class or instance state)."""
    if key is None:
        return False
    for value in ctx.walk_values(key):
        if isinstance(value, ast.Call) and is_fresh_random(ctx.call_name(value)):
            if not per_call:
                return True
            if ctx.enclosing_function(value) is not None and stored_state(value, ctx) is None:
                return True
    return False


def is_test_code(ctx: FileContext, node: ast.AST) -> bool:
    """Whether `node` is inside a test function or class (``test_*``, ``Test*``, and
    fakes, mocks and dummies), or a pytest fixture."""
    for scope in ctx.ancestors(node):
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
            if scope.name.lstrip("_").startswith(_TEST_PREFIXES) or any(
                "fixture" in (ctx.qualname(d.func if isinstance(d, ast.Call) else d) or "")
                for d in scope.decorator_list
            ):
                return True
        elif isinstance(scope, ast.ClassDef) and scope.name.lower().startswith(_TEST_PREFIXES):
            return True
    return ctx.path.replace("\\", "/").rsplit("/", 1)[-1] == "conftest.py"
