"""CR0101: a nonce or IV derived from a clock."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import CLOCKS, nonce_argument


@rule(
    code="CR0101",
    name="nonce-from-clock",
    case=1,
    severity=Severity.HIGH,
    cwe=323,
    nodes=(ast.Call,),
    # `_vocab.NONCE_ARGUMENT` (AES*, ChaCha20*, modes.*, SecretBox) and `CLOCKS`.
    requires=[["time", "uuid1"], ["modes", "aes", "chacha", "secretbox"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds encryption whose nonce or IV is computed from the time.

    ## What it does
    Follows the nonce (or IV) argument of AEAD and cipher-mode calls — `AESGCM.encrypt`,
    `ChaCha20Poly1305.encrypt`, `modes.GCM`/`CTR`/`CBC`, PyCryptodome's `AES.new` — back
    through local variables, parameters and helper functions of the module, and reports
    it when it comes from `time.time()`, `time.time_ns()`, `datetime.now()`,
    `uuid.uuid1()` or another clock.

    ## Why is this bad?
    Clocks repeat: two messages in the same tick, two servers, a restart after a clock
    step, a restored VM snapshot. With GCM or ChaCha20-Poly1305 one repeated nonce under
    a key reveals the XOR of the two plaintexts and lets an attacker forge tags for that
    key from then on.

    ## Example
    ```python
    nonce = int(time.time()).to_bytes(12, "big")
    ciphertext = AESGCM(key).encrypt(nonce, data, aad)
    ```

    ## Use instead
    Let the library choose nonces: `cryptorails.Sealer(keyring).seal(data, ctx)` uses
    XAES-256-GCM with 192-bit random nonces; with raw primitives use `os.urandom(12)`.

    ## References
    - NIST SP 800-38D §8 (uniqueness requirement on IVs)
    - CWE-323: Reusing a Nonce, Key Pair in Encryption
    - Joux, "Authentication failures in NIST version of GCM" (2006)
    """
    assert isinstance(node, ast.Call)
    nonce = nonce_argument(node, ctx.call_name(node))
    if nonce is None:
        return
    for value in ctx.walk_values(nonce):
        if isinstance(value, ast.Call) and ctx.call_name(value) in CLOCKS:
            yield ctx.report(
                nonce, f"nonce comes from a clock ({ctx.call_name(value)}); clocks repeat"
            )
            return
