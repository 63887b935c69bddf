"""CR0713: an RSA, DSA or DH key shorter than 2048 bits, or an EC curve under 224 bits."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._classic import Arg, int_values

_ASYMMETRIC = "cryptography.hazmat.primitives.asymmetric."
_MINIMUM_BITS = 2048
# qualified generator -> (algorithm, where the size is, the size when it is left out)
_SIZED: dict[str, tuple[str, Arg, int | None]] = {
    f"{_ASYMMETRIC}rsa.generate_private_key": ("RSA", (1, "key_size"), None),
    f"{_ASYMMETRIC}dsa.generate_private_key": ("DSA", (0, "key_size"), None),
    f"{_ASYMMETRIC}dsa.generate_parameters": ("DSA", (0, "key_size"), None),
    f"{_ASYMMETRIC}dh.generate_parameters": ("DH", (1, "key_size"), None),
    **{
        f"{package}.PublicKey.{alg}.generate": (alg, (0, "bits"), None)
        for package in ("Crypto", "Cryptodome")
        for alg in ("RSA", "DSA")
    },
    "rsa.newkeys": ("RSA", (0, "nbits"), None),
    "paramiko.RSAKey.generate": ("RSA", (0, "bits"), None),
    "paramiko.rsakey.RSAKey.generate": ("RSA", (0, "bits"), None),
    "paramiko.DSSKey.generate": ("DSA", (0, "bits"), 1024),
    "paramiko.dsskey.DSSKey.generate": ("DSA", (0, "bits"), 1024),
    "OpenSSL.crypto.PKey.generate_key": ("RSA/DSA", (1, "bits"), None),
    "M2Crypto.RSA.gen_key": ("RSA", (0, "bits"), None),
}
_WEAK_CURVES = {"SECP192R1": 192, "SECT163K1": 163, "SECT163R2": 163}
_CURVE_ARGUMENT: dict[str, Arg] = {
    f"{_ASYMMETRIC}ec.generate_private_key": (0, "curve"),
    f"{_ASYMMETRIC}ec.derive_private_key": (1, "curve"),
}
_WEAK_CURVE_NAMES = {"P-192", "P192", "NIST P-192", "SECP192R1", "PRIME192V1"}
_ECC_GENERATE = frozenset({"Crypto.PublicKey.ECC.generate", "Cryptodome.PublicKey.ECC.generate"})


@rule(
    code="CR0713",
    name="short-asymmetric-key",
    case=7,
    severity=Severity.HIGH,
    cwe=326,
    nodes=(ast.Call,),
    # `_SIZED`, `_CURVE_ARGUMENT`, `_ECC_GENERATE`: a generator of one of these libraries
    # (``cryptography...asymmetric``, PyCryptodome, pyOpenSSL, M2Crypto, paramiko, rsa).
    requires=[
        ["generate", "newkeys", "gen_key", "derive_private_key"],
        ["asymmetric", "crypto", "paramiko", "newkeys"],
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds asymmetric keys generated too small to resist factoring or discrete logs.

    ## What it does
    Reports key generation with fewer than 2048 bits for RSA (cryptography
    ``rsa.generate_private_key``, PyCryptodome ``RSA.generate``, python-rsa ``newkeys``,
    paramiko ``RSAKey.generate``, pyOpenSSL ``PKey.generate_key``, M2Crypto), DSA
    (including paramiko's ``DSSKey``, which is always 1024-bit) and finite-field
    Diffie-Hellman parameters, and elliptic-curve keys on curves under 224 bits
    (``SECP192R1``, ``SECT163K1``, ``SECT163R2``, PyCryptodome ``curve="P-192"``). Sizes
    are followed through constants (``KEY_BITS = 1024``), arithmetic, parameters and
    defaults.

    ## Why is this bad?
    RSA-768 and 795-bit discrete logarithms have been computed publicly; 1024-bit keys
    are within reach of well-funded attackers and Logjam showed 512/1024-bit DH groups
    broken in practice. NIST SP 800-131A disallows anything below 112-bit security
    (2048-bit RSA/DSA/DH, 224-bit curves) for new signatures and key agreement, and a
    key generated today usually lives for years.

    ## Example
    ```python
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    ```

    ## Use instead
    RSA 3072 (or 2048 at the very least), or better Ed25519 / P-256 keys. For tokens,
    `cryptorails.TokenIssuer` with keys from a `cryptorails.Keyring`, which only
    generates Ed25519 and P-256 signing keys.

    ## References
    - NIST SP 800-57 Part 1 Rev. 5 §5.6.1 (security strengths); SP 800-131A Rev. 2
    - Adrian et al., "Imperfect Forward Secrecy" (Logjam, CCS 2015)
    - CWE-326: Inadequate Encryption Strength
    """
    if not isinstance(node, ast.Call):
        return
    name = ctx.call_name(node)
    if name is None:
        return
    if name in _SIZED:
        algorithm, where, default = _SIZED[name]
        if algorithm == "RSA/DSA" and node.args:
            kind = (ctx.qualname(node.args[0]) or "").rsplit(".", 1)[-1]
            algorithm = {"TYPE_RSA": "RSA", "TYPE_DSA": "DSA"}.get(kind, algorithm)
        size = call_argument(node, *where)
        if size is None:
            if default is not None and default < _MINIMUM_BITS:
                yield ctx.report(
                    node,
                    f"{algorithm} key of {default} bits (the default): at least 2048 are needed",
                )
            return
        for bits, source in int_values(ctx, size):
            if 0 < bits < _MINIMUM_BITS:
                line = getattr(source, "lineno", size.lineno)
                origin = f" (from line {line})" if line != size.lineno else ""
                yield ctx.report(
                    size, f"{algorithm} key of {bits} bits{origin}: at least 2048 are needed"
                )
                return
    elif name in _CURVE_ARGUMENT:
        curve = call_argument(node, *_CURVE_ARGUMENT[name])
        if curve is not None:
            yield from _curve(ctx, curve)
    elif name in _ECC_GENERATE:
        named = call_argument(node, None, "curve")
        if named is None:
            return
        for value in ctx.values(named):
            text = value.value if isinstance(value, ast.Constant) else None
            if isinstance(text, str) and text.upper() in _WEAK_CURVE_NAMES:
                yield ctx.report(named, f"curve {text} gives 96-bit security: use P-256 or more")
                return


def _curve(ctx: FileContext, curve: ast.AST) -> Iterator[Finding]:
    for value in ctx.values(curve):
        target = value.func if isinstance(value, ast.Call) else value
        short = (ctx.qualname(target) or "").rsplit(".", 1)[-1]
        if short in _WEAK_CURVES:
            bits = _WEAK_CURVES[short]
            yield ctx.report(
                curve, f"{short} is a {bits}-bit curve ({bits // 2}-bit security): use P-256"
            )
            return
