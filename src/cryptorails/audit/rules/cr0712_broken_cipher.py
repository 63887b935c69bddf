"""CR0712: a broken or obsolete block or stream cipher."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule

_SWEET32 = "64-bit blocks collide after a few tens of GB under one key (Sweet32)"
_WHY = {
    "TripleDES": f"{_SWEET32}; NIST disallows 3DES encryption after 2023",
    "DES3": f"{_SWEET32}; NIST disallows 3DES encryption after 2023",
    "triple_des": f"{_SWEET32}; NIST disallows 3DES encryption after 2023",
    "DES": "56-bit keys fall to exhaustive search in hours",
    "des": "56-bit keys fall to exhaustive search in hours",
    "ARC4": "RC4 keystream biases recover plaintext (RFC 7465)",
    "Blowfish": _SWEET32,
    "IDEA": f"{_SWEET32}, and it has weak-key classes",
    "CAST5": _SWEET32,
    "CAST": _SWEET32,
    "SEED": "a legacy cipher kept only for old protocols (cryptography's decrepit module)",
    "RC2": "related-key attacks and 64-bit blocks",
    "ARC2": "related-key attacks and 64-bit blocks",
    "XOR": "a repeating-key XOR is not a cipher",
}
_CRYPTOGRAPHY = (
    "cryptography.hazmat.primitives.ciphers.algorithms.",
    "cryptography.hazmat.decrepit.ciphers.algorithms.",
)
_CRYPTOGRAPHY_NAMES = ("TripleDES", "ARC4", "Blowfish", "IDEA", "CAST5", "SEED", "RC2")
_PYCRYPTODOME_NAMES = ("DES", "DES3", "ARC4", "Blowfish", "CAST", "ARC2", "XOR")
_BROKEN: dict[str, str] = {
    **{f"{p}{n}": n for p in _CRYPTOGRAPHY for n in _CRYPTOGRAPHY_NAMES},
    **{
        f"{package}.Cipher.{n}.new": n
        for package in ("Crypto", "Cryptodome")
        for n in _PYCRYPTODOME_NAMES
    },
    "pyDes.des": "des",
    "pyDes.triple_des": "triple_des",
    "Crypto.Cipher.ARC4.ARC4Cipher": "ARC4",
}


@rule(
    code="CR0712",
    name="broken-cipher",
    case=7,
    severity=Severity.HIGH,
    cwe=327,
    nodes=(ast.Call,),
    requires=[
        ["crypto", "pydes"],
        ["des", "arc4", "rc4", "blowfish", "idea", "cast", "seed", "rc2", "arc2", "xor"],
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds encryption with DES, 3DES, RC4, Blowfish, IDEA, CAST5, SEED or RC2.

    ## What it does
    Reports construction of these ciphers through cryptography (``algorithms.TripleDES``,
    ``ARC4``, ``Blowfish``, ``IDEA``, ``CAST5``, ``SEED`` in ``hazmat.primitives`` or
    ``hazmat.decrepit``), PyCryptodome / PyCrypto (``DES.new``, ``DES3.new``,
    ``ARC4.new``, ``Blowfish.new``, ``CAST.new``, ``ARC2.new``, ``XOR.new``) and pyDes,
    through any import alias. Type checks (``isinstance(alg, TripleDES)``) and names in
    strings are not reported.

    ## Why is this bad?
    DES keys are found by brute force in hours. 3DES, Blowfish, IDEA and CAST5 have
    64-bit blocks, so with a few tens of gigabytes under one key block collisions leak
    plaintext (Sweet32); NIST withdrew 3DES for encryption after 2023. RC4's keystream
    is biased enough to recover cookies and passwords from TLS (RFC 7465). These
    algorithms also come without integrity, so ciphertexts can be modified unnoticed.

    ## Example
    ```python
    cipher = Cipher(algorithms.TripleDES(key), modes.CBC(iv))
    ```

    ## Use instead
    `cryptorails.Sealer(keyring).seal(data, ctx)` (XAES-256-GCM: authenticated,
    256-bit keys, library-managed nonces); with raw primitives, ``AESGCM`` or
    ``ChaCha20Poly1305``. Read legacy ciphertexts once to re-seal them, behind a
    suppression that says so.

    ## References
    - NIST SP 800-131A Rev. 2 §2 (3DES and DES status)
    - Bhargavan and Leurent, "On the Practical (In-)Security of 64-bit Block Ciphers"
      (Sweet32, CCS 2016)
    - RFC 7465: Prohibiting RC4 Cipher Suites
    - CWE-327: Use of a Broken or Risky Cryptographic Algorithm
    """
    if not isinstance(node, ast.Call):
        return
    name = ctx.call_name(node)
    if name is None or name not in _BROKEN:
        return
    algorithm = _BROKEN[name]
    shown = name.rsplit(".", 2)[-2] if name.endswith(".new") else name.rsplit(".", 1)[-1]
    yield ctx.report(node, f"{shown}: {_WHY[algorithm]}")
