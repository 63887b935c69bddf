"""CR0711: a block cipher in ECB mode."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument

_ECB_CLASSES = frozenset(
    {"cryptography.hazmat.primitives.ciphers.modes.ECB", "pyaes.AESModeOfOperationECB"}
)
_PYCRYPTO_CIPHERS = ("AES", "DES", "DES3", "Blowfish", "CAST", "ARC2")
_NEW = frozenset(
    f"{package}.Cipher.{cipher}.new"
    for package in ("Crypto", "Cryptodome")
    for cipher in _PYCRYPTO_CIPHERS
)
_MODE_ECB = 1  # PyCryptodome's value of MODE_ECB


@rule(
    code="CR0711",
    name="ecb-mode",
    case=7,
    severity=Severity.MEDIUM,
    cwe=327,
    nodes=(ast.Call,),
    requires=[["ecb", "crypto.cipher"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds block ciphers used in ECB mode.

    ## What it does
    Reports cryptography's ``modes.ECB()``, PyCryptodome's ``AES.new(key,
    AES.MODE_ECB)`` (and the same for DES, DES3, Blowfish, CAST, ARC2, through aliases and
    variables), legacy PyCrypto's ``AES.new(key)`` whose default mode is ECB, and
    ``pyaes.AESModeOfOperationECB``. Mentions of ECB in strings or comparisons are not
    reported.

    ## Why is this bad?
    ECB encrypts equal blocks to equal ciphertext, so patterns survive encryption (the
    "ECB penguin"), blocks can be cut, reordered and replayed between messages without
    detection, and there is no integrity at all. A single block encrypted to build
    another construction (a CMAC subkey, a KDF step) is the rare legitimate use; mark it
    with a suppression that says so.

    ## Example
    ```python
    cipher = Cipher(algorithms.AES(key), modes.ECB())
    ```

    ## Use instead
    `cryptorails.Sealer(keyring).seal(data, ctx)`: XAES-256-GCM with library-chosen
    nonces and authentication, no mode to pick. With raw primitives, use an AEAD
    (``AESGCM`` with a random 96-bit nonce).

    ## References
    - NIST SP 800-38A §6.1 (ECB) and its confidentiality caveat
    - CWE-327: Use of a Broken or Risky Cryptographic Algorithm
    """
    if not isinstance(node, ast.Call):
        return
    name = ctx.call_name(node)
    if name in _ECB_CLASSES:
        yield ctx.report(node, f"{name.rsplit('.', 1)[-1]}: equal blocks encrypt equally")
        return
    if name not in _NEW:
        return
    mode = call_argument(node, 1, "mode")
    if mode is None:
        if name.startswith("Crypto.") and len(node.args) == 1 and not node.keywords:
            yield ctx.report(node, f"{name} without a mode is ECB in PyCrypto")
        return
    for value in ctx.values(mode):
        named = ctx.qualname(value) or ""
        if named.endswith(".MODE_ECB") or (
            isinstance(value, ast.Constant)
            and type(value.value) is int
            and value.value == _MODE_ECB
        ):
            yield ctx.report(mode, f"{name} in MODE_ECB: equal blocks encrypt equally")
            return
