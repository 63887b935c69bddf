"""CR0204: JWT decoding with signature verification switched off."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._jwt import decode_flavor, verification_off, verifies
from cryptorails.audit.rules._random import is_test_code

_UNVERIFIED_CLAIMS = frozenset({"jose.jwt.get_unverified_claims", "jose.jws.get_unverified_claims"})


@rule(
    code="CR0204",
    name="jwt-verification-disabled",
    case=2,
    severity=Severity.HIGH,
    cwe=347,
    nodes=(ast.Call,),
    requires=[["jwt", "jose"], ["verif", "none", "false"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds JWTs whose claims are used without checking the signature.

    ## What it does
    Reports PyJWT and python-jose decoding with ``options={"verify_signature": False}``
    (also when the options dict is built elsewhere in the function or module, with
    ``dict(...)``, or set item by item), ``verify=False`` (PyJWT 1, `jose.jws.verify`),
    ``algorithms=["none"]``, and python-jose's `get_unverified_claims`. Not reported:
    reading the unverified token only to route it, when the same function then verifies
    the same token with a real decode (for example to pick the issuer's key set), and
    test functions.

    ## Why is this bad?
    Without the signature check a JWT is a base64 JSON document anyone can write: every
    claim (``sub``, ``role``, ``tenant``, ``exp``) is attacker-chosen. Such switches are
    added "temporarily" while debugging and stay on.

    ## Example
    ```python
    claims = jwt.decode(token, options={"verify_signature": False})
    user = User.objects.get(pk=claims["sub"])
    ```

    ## Use instead
    `cryptorails.TokenVerifier.verify(token)` (or `cryptorails.TrustedIssuers` for several
    issuers), which has no switch to turn the signature check off and returns only
    verified claims; with PyJWT, pass the key and a pinned ``algorithms=`` list.

    ## References
    - RFC 8725 §3.1-3.2 (JWT BCP)
    - PyJWT documentation, "Reading the claimset without validation" (for routing only)
    - CWE-347: Improper Verification of Cryptographic Signature
    """
    assert isinstance(node, ast.Call)
    name = ctx.call_name(node)
    if name in _UNVERIFIED_CLAIMS:
        how = "get_unverified_claims"
    elif decode_flavor(node, ctx) is not None:
        off = verification_off(node, ctx)
        if off is None:
            return
        how = off
    else:
        return
    if is_test_code(ctx, node) or _verified_later(node, ctx):
        return
    yield ctx.report(node, f"JWT claims read without checking the signature ({how})")


def _verified_later(call: ast.Call, ctx: FileContext) -> bool:
    """The same function also verifies the same token: the unverified read only routes."""
    token = call_argument(call, 0, "token") or call_argument(call, None, "jwt")
    function = ctx.enclosing_function(call)
    if token is None or function is None:
        return False
    wanted = ast.dump(token)
    for other in ast.walk(function):
        if other is call or not isinstance(other, ast.Call) or not verifies(other, ctx):
            continue
        first = call_argument(other, 0, "token") or call_argument(other, None, "jwt")
        if first is not None and ast.dump(first) == wanted:
            return True
    return False
