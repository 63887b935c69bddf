"""CR0203: a JWT verified without a pinned list of algorithms."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._jwt import (
    algorithms_arg,
    decode_flavor,
    from_unverified_header,
    verification_off,
)
from cryptorails.audit.rules._random import is_test_code


@rule(
    code="CR0203",
    name="jwt-decode-without-algorithms",
    case=2,
    severity=Severity.HIGH,
    cwe=347,
    nodes=(ast.Call,),
    requires=[["jwt", "jose"], ["decode", "verify"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds JWT verification that lets the token choose its own algorithm.

    ## What it does
    Reports PyJWT and python-jose `decode` calls (and `jose.jws.verify`) that check the
    signature but pass no ``algorithms=`` list, pass ``algorithms=None``, or build the
    list from the token's own unverified header (``[header["alg"]]``). Calls that switch
    verification off entirely are reported by CR0204 instead.

    ## Why is this bad?
    Without a pinned list, the ``alg`` field of the token — chosen by whoever made the
    token — decides how the signature is checked. PyJWT 1 and python-jose then accept
    ``HS256`` tokens "signed" with an RSA public key used as an HMAC secret (the key is
    public, so anyone can forge), and older versions accept ``alg: none``. Reading the
    list out of the header is the same thing with extra steps.

    ## Example
    ```python
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, PUBLIC_KEY, algorithms=[header["alg"]])
    ```

    ## Use instead
    `cryptorails.TokenVerifier`, where the algorithm belongs to the trusted key and the
    token cannot change it; with PyJWT, pin the list explicitly:
    ``jwt.decode(token, key, algorithms=["EdDSA"])``.

    ## References
    - RFC 8725 §3.1 (JWT BCP: perform algorithm verification)
    - CVE-2015-9235, CVE-2022-29217 (algorithm confusion in JWT libraries)
    - CWE-347: Improper Verification of Cryptographic Signature
    """
    assert isinstance(node, ast.Call)
    if decode_flavor(node, ctx) is None or verification_off(node, ctx) is not None:
        return
    if is_test_code(ctx, node):
        return
    algorithms = algorithms_arg(node)
    if algorithms is None or (isinstance(algorithms, ast.Constant) and algorithms.value is None):
        yield ctx.report(
            node, "JWT verified without algorithms=; the token's alg header picks the algorithm"
        )
    elif from_unverified_header(algorithms, ctx):
        yield ctx.report(algorithms, "algorithms= is read from the token's own unverified header")
