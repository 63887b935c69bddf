"""CR0205: one JWT verification accepting both HMAC and public-key algorithms."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._jwt import algorithm_names, algorithms_arg, decode_flavor, families

# Constructors that take the accepted algorithm list for later verifications.
_ALGORITHM_LISTS: dict[str, tuple[int | None, str]] = {
    "authlib.jose.JsonWebToken": (0, "algorithms"),
    "authlib.jose.JsonWebSignature": (0, "algorithms"),
    "jwcrypto.jwt.JWT": (None, "algs"),
}


@rule(
    code="CR0205",
    name="jwt-mixed-algorithm-families",
    case=2,
    severity=Severity.HIGH,
    cwe=327,
    nodes=(ast.Call,),
    requires=[["jwt", "jose"], ["hs", "default_algorithms", "get_algorithms"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds JWT verification that accepts HMAC and public-key algorithms together.

    ## What it does
    Reports an ``algorithms=`` list (PyJWT, python-jose; ``algorithms`` of authlib's
    `JsonWebToken`, ``algs`` of jwcrypto's `JWT`) that holds both an HMAC algorithm
    (``HS256``...) and a public-key one (``RS256``, ``ES256``, ``PS256``, ``EdDSA``),
    followed through variables and constants, including "every registered algorithm"
    (``get_default_algorithms()``).

    ## Why is this bad?
    The same key value is then used both ways. A verifier holding an RSA or EC public
    key will, for a token that says ``HS256``, use that public key as the HMAC secret —
    and since the key is public, anyone can compute that HMAC and forge tokens (the
    classic RS256→HS256 confusion). Library-side guards against PEM keys as HMAC
    secrets catch some key formats, not all.

    ## Example
    ```python
    claims = jwt.decode(token, PUBLIC_KEY_PEM, algorithms=["RS256", "HS256"])
    ```

    ## Use instead
    One algorithm per key: `cryptorails.TokenVerifier` with a `cryptorails.Jwks` or
    keyset pins each key's algorithm, so a key can only verify what it was made for;
    with PyJWT, ``algorithms=["RS256"]`` for the public key and a separate verifier for
    any HMAC issuer.

    ## References
    - RFC 8725 §2.1, §3.1 (algorithm verification; use appropriate algorithms)
    - CVE-2016-10555, CVE-2022-29217 (RS/HS confusion)
    - CWE-327: Use of a Broken or Risky Cryptographic Algorithm
    """
    assert isinstance(node, ast.Call)
    if decode_flavor(node, ctx) is not None:
        algorithms = algorithms_arg(node)
    else:
        spec = _ALGORITHM_LISTS.get(ctx.call_name(node) or "")
        if spec is None:
            return
        algorithms = call_argument(node, spec[0], spec[1])
    names = algorithm_names(algorithms, ctx)
    if algorithms is None or not names:
        return
    found = families(names)
    if {"hmac", "public-key"} <= found:
        shown = "every registered algorithm" if "*" in names else ", ".join(sorted(set(names)))
        yield ctx.report(
            algorithms,
            f"accepts HMAC and public-key algorithms together ({shown}); "
            "a public key can be used as an HMAC secret",
        )
