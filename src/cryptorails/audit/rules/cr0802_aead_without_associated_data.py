"""CR0802: AEAD encryption with no associated data next to a tenant, user or record id."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import NOT_CONSTANT, FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._tenancy import (
    AEAD_AAD,
    carries_id,
    cipher_constructors,
    class_of,
    is_record_id,
    plaintext_of,
    record_id_in_scope,
)

_DOME_AEAD_MODES = ("MODE_GCM", "MODE_EAX", "MODE_CCM", "MODE_OCB", "MODE_SIV")
_NACL_AEAD = frozenset(
    f"nacl.bindings.crypto_aead_{name}_encrypt"
    for name in ("chacha20poly1305_ietf", "xchacha20poly1305_ietf", "chacha20poly1305", "aes256gcm")
)
_EMPTY = (None, b"", "")


@rule(
    code="CR0802",
    name="aead-without-associated-data",
    case=8,
    severity=Severity.MEDIUM,
    cwe=345,
    nodes=(ast.Call,),
    # Every encrypting call has "encrypt" in its name (rare in ordinary code, so it goes
    # first); the AEADs are AES*/ChaCha*/Aead classes, `crypto_aead_*` functions, or a
    # hazmat Cipher in GCM mode.
    requires=[["encrypt"], ["aes", "chacha", "aead", "gcm"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds AEAD encryption without associated data where a tenant, user or record id
    is at hand.

    ## What it does
    Reports `AESGCM`, `ChaCha20Poly1305`, `AESCCM`, `AESOCB3`, `AESGCMSIV` and `AESSIV`
    `.encrypt(...)` and PyNaCl `Aead.encrypt`/`crypto_aead_*_encrypt` called with `None`,
    `b""` or no associated data, PyCryptodome GCM/EAX/CCM/OCB/SIV and
    ChaCha20-Poly1305 ciphers that encrypt without ever calling `cipher.update(...)`,
    and hazmat GCM encryptors without `authenticate_additional_data` — when the function
    has a parameter or local naming a tenant, user, account or record id
    (`tenant_id`, `user`, `record_id`, `invoice_id`, ...).

    ## Why is this bad?
    The tag then only proves "some record of this key", not "this record of this
    tenant". Anyone who can write to the table can move user A's encrypted SSN into user
    B's row, or tenant A's blob into tenant B's, and it decrypts and verifies without
    complaint. Binding the owner and record id as associated data costs nothing and
    makes the swap fail.

    ## Example
    ```python
    def save_ssn(user_id: int, ssn: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(KEY).encrypt(nonce, ssn, None)
    ```

    ## Use instead
    `cryptorails.Sealer.seal(data, cryptorails.Context(tenant=tenant_id,
    purpose="ssn"), aad=record_id)` binds tenant, purpose, environment and the record id
    into the associated data; with a raw AEAD pass them yourself, e.g.
    `aead.encrypt(nonce, data, f"{tenant_id}/{user_id}".encode())`.

    ## References
    - RFC 5116 §2.1 (associated data: authenticated, not encrypted)
    - NIST SP 800-38D §5.2.1 (additional authenticated data)
    - CWE-345: Insufficient Verification of Data Authenticity
    """
    assert isinstance(node, ast.Call)
    func = node.func
    if isinstance(func, ast.Attribute) and not _on_self(func) and "encrypt" not in func.attr:
        return  # every call below is named *encrypt*; a qualified name ends with it
    callee = ctx.call_name(node)
    if callee in _NACL_AEAD:
        aad = call_argument(node, 1, "aad")
        if _is_empty(ctx, aad):
            yield from _report(
                ctx,
                node,
                aad,
                "crypto_aead_*_encrypt gets no associated data",
                call_argument(node, 0, "message"),
            )
        return
    if not isinstance(func, ast.Attribute) or func.attr not in (
        "encrypt",
        "encrypt_and_digest",
        "encryptor",
    ):
        return
    for constructor in cipher_constructors(ctx, func.value):
        cls = class_of(ctx, constructor) or ""
        short = cls.rsplit(".", 2)[-2] if cls.endswith(".new") else cls.rsplit(".", 1)[-1]
        if func.attr == "encrypt" and cls in AEAD_AAD:
            aad = call_argument(node, *AEAD_AAD[cls])
            if _is_empty(ctx, aad):
                yield from _report(
                    ctx,
                    node,
                    aad,
                    f"{short}.encrypt gets no associated data",
                    plaintext_of(ctx, node, cls),
                )
            return
        if func.attr in ("encrypt", "encrypt_and_digest") and _dome_aead(ctx, constructor):
            if not _has_call_on(ctx, node, func.value, "update"):
                yield from _report(
                    ctx,
                    node,
                    None,
                    f"{short} cipher never gets cipher.update(aad)",
                    call_argument(node, 0, "plaintext"),
                )
            return
        if func.attr == "encryptor" and _hazmat_gcm(ctx, constructor):
            if not _has_call_on(ctx, node, None, "authenticate_additional_data"):
                yield from _report(
                    ctx,
                    node,
                    None,
                    "GCM encryptor never gets authenticate_additional_data",
                    None,
                )
            return


def _report(
    ctx: FileContext,
    call: ast.Call,
    aad: ast.expr | None,
    what: str,
    plaintext: ast.expr | None,
) -> Iterator[Finding]:
    owner = record_id_in_scope(ctx, call)
    if owner is None:
        return
    # A token whose plaintext is the id itself (`encrypt(nonce, str(user_id), None)`)
    # already authenticates whose it is.
    if plaintext is not None and carries_id(ctx, plaintext, is_record_id):
        return
    yield ctx.report(
        aad if aad is not None else call,
        f"{what} while {owner} is in scope: the ciphertext "
        "can be moved to another record or tenant undetected",
    )


def _is_empty(ctx: FileContext, aad: ast.expr | None) -> bool:
    if aad is None:
        return True
    if isinstance(aad, ast.Name):
        found = ctx.parameter_of(aad)
        if found is not None and not _passed_in_module(ctx, *found):
            return False  # `def seal(data, aad=None)`: the callers choose, elsewhere
    if isinstance(aad, ast.List | ast.Tuple) and not aad.elts:
        return True  # AESSIV takes a list of associated-data items
    value = ctx.literal(aad)
    return value is not NOT_CONSTANT and value in _EMPTY


def _passed_in_module(
    ctx: FileContext, function: ast.FunctionDef | ast.AsyncFunctionDef, arg: ast.arg
) -> bool:
    """Whether some call in this module reaches `function` at all (so its omitted or
    ``None`` argument is this module's choice)."""
    defaults = {id(d) for d in (*function.args.defaults, *function.args.kw_defaults) if d}
    if any(id(v) not in defaults for v in ctx.argument_values(function, arg)):
        return True
    method = isinstance(ctx.scope_of.get(function), ast.ClassDef)
    calls = (ctx.calls_by_attr if method else ctx.calls_by_name).get(function.name, [])
    return bool(calls)


def _dome_aead(ctx: FileContext, constructor: ast.Call) -> bool:
    """PyCryptodome AES in an AEAD mode, or ChaCha20-Poly1305."""
    name = ctx.call_name(constructor) or ""
    if name.endswith("ChaCha20_Poly1305.new"):
        return True
    if not name.endswith("AES.new"):
        return False
    mode = call_argument(constructor, 1, "mode")
    mode_name = ctx.qualname(mode) if mode is not None else None
    return bool(mode_name) and (mode_name or "").endswith(_DOME_AEAD_MODES)


def _hazmat_gcm(ctx: FileContext, constructor: ast.Call) -> bool:
    if not (ctx.call_name(constructor) or "").endswith("ciphers.Cipher"):
        return False
    mode = call_argument(constructor, 1, "mode")
    if mode is None:
        return False
    return any(
        isinstance(v, ast.Call) and (ctx.call_name(v) or "").endswith("modes.GCM")
        for v in ctx.values(mode)
    )


def _has_call_on(ctx: FileContext, call: ast.Call, receiver: ast.expr | None, method: str) -> bool:
    """Whether the function around `call` calls `.method(<non-empty>)` (on `receiver`,
    when given)."""
    scope: ast.AST | None = ctx.enclosing_function(call) or ctx.tree
    wanted = ast.dump(receiver) if receiver is not None else None
    for sub in ctx.walk(scope or ctx.tree):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr == method
            and (wanted is None or ast.dump(sub.func.value) == wanted)
            and not (sub.args and _is_empty(ctx, sub.args[0]))
        ):
            return True
    return False


def _on_self(func: ast.Attribute) -> bool:
    """``self.x``: the engine names it after what ``x`` was assigned, not after ``x``."""
    return isinstance(func.value, ast.Name) and func.value.id == "self"
