"""CR0801: one application-wide key encrypts every tenant's data."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._tenancy import (
    AEAD_AAD,
    carries_id,
    cipher_constructors,
    cipher_keys,
    class_of,
    flows_mention_tenant,
    is_shared_key,
    is_tenant_id,
    plaintext_of,
    tenant_in_scope,
)

_ENCRYPTING = frozenset({"encrypt", "encrypt_at_time", "encrypt_and_digest", "encryptor"})
# Calls that add associated data to a cipher object before it encrypts.
_AAD_CALLS = frozenset({"update", "authenticate_additional_data"})


@rule(
    code="CR0801",
    name="one-key-for-all-tenants",
    case=8,
    severity=Severity.HIGH,
    cwe=653,
    nodes=(ast.Call,),
    # Every encrypting method has "encrypt" in its name (rare in ordinary code, so it
    # goes first); the cipher classes are AES*, ChaCha*, Fernet, SecretBox and Aead;
    # a tenant name holds one of the tenant words ("org" also covers organization).
    requires=[
        ["encrypt"],
        ["aes", "chacha", "fernet", "secretbox", "aead"],
        ["tenant", "account", "org", "customer", "workspace", "company"],
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds one module-level key encrypting data for every tenant.

    ## What it does
    Reports an encryption (`AESGCM`/`ChaCha20Poly1305`/... `.encrypt`, `Fernet.encrypt`,
    PyCryptodome `AES.new(...).encrypt_and_digest`, `Cipher(...).encryptor()`, PyNaCl
    `SecretBox.encrypt`) inside a function that handles a tenant, account, organization,
    customer or workspace (a parameter, a local, an attribute such as
    `request.tenant_id`, or a field of the enclosing class) when the key is the same for
    everyone: a module constant, a cipher object built at import, a key read once from a
    file or the environment, or `settings.ENCRYPTION_KEY`. It stays quiet when the key
    is looked up per tenant (`keys[tenant_id]`, `get_key(tenant_id)`, `tenant.dek`) or
    when the tenant is bound into the AEAD associated data.

    ## Why is this bad?
    Nothing ties a ciphertext to its tenant: a blob copied from tenant A's row into
    tenant B's decrypts fine for B, one leaked key exposes every tenant at once, and
    no tenant's data can be crypto-shredded or rotated on its own.

    ## Example
    ```python
    FERNET = Fernet(os.environ["APP_KEY"])

    def save_note(tenant_id: str, text: str) -> bytes:
        return FERNET.encrypt(text.encode())
    ```

    ## Use instead
    Per-tenant keysets: `cryptorails.Sealer(keyring).seal(data,
    cryptorails.Context(tenant=tenant_id, purpose="notes"), aad=record_id)` keeps one
    keyset per tenant and binds tenant, purpose and environment into the associated
    data, so a blob moved to another tenant fails to open.

    ## References
    - CWE-653: Improper Isolation or Compartmentalization
    - OWASP Multi-Tenant Security Cheat Sheet (tenant isolation of data and keys)
    - NIST SP 800-57 Part 1 Rev. 5 §5.2 (key usage: one key, one purpose)
    """
    assert isinstance(node, ast.Call)
    func = node.func
    if not isinstance(func, ast.Attribute) or func.attr not in _ENCRYPTING:
        return
    tenant = tenant_in_scope(ctx, node)
    if tenant is None:
        return
    constructors = cipher_constructors(ctx, func.value)
    if not constructors or _tenant_bound(ctx, node, constructors):
        return
    for constructor in constructors:
        for key in cipher_keys(ctx, constructor):
            if is_shared_key(ctx, key):
                shown = ast.unparse(key)
                shown = shown if len(shown) <= 40 else shown[:37] + "..."
                yield ctx.report(
                    node,
                    f"one key ({shown}) encrypts every tenant's data here ({tenant} in "
                    "scope): the tenant is bound to neither the key nor the ciphertext",
                )
                return


def _tenant_bound(ctx: FileContext, call: ast.Call, constructors: list[ast.Call]) -> bool:
    """Whether the tenant is bound into this encryption: in its associated data, or its
    id inside the authenticated plaintext (a token such as ``{"tenant": tenant_id}``)."""
    for constructor in constructors:
        plaintext = plaintext_of(ctx, call, class_of(ctx, constructor) or "")
        if plaintext is not None and carries_id(ctx, plaintext, is_tenant_id):
            return True
        where = AEAD_AAD.get(class_of(ctx, constructor) or "")
        if where is not None:
            aad = call_argument(call, *where)
            if aad is not None and flows_mention_tenant(ctx, aad):
                return True
    function = ctx.enclosing_function(call)
    return function is not None and _aad_names_tenant(ctx, function)


def _aad_names_tenant(ctx: FileContext, function: ast.AST) -> bool:
    """Whether `function` gives a cipher associated data naming the tenant: PyCryptodome
    `cipher.update(aad)` or hazmat `authenticate_additional_data(aad)` (memoized)."""
    key = ("CR0801:aad-call", function)
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = any(
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr in _AAD_CALLS
            and any(flows_mention_tenant(ctx, arg) for arg in sub.args)
            for sub in ctx.walk(function)
        )
    return found is True
