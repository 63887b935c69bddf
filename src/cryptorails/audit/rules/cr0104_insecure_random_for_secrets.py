"""CR0104: `random` or `numpy.random` output used as a key, nonce, salt, token or password."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._random import is_insecure_random, is_test_code
from cryptorails.audit.rules._secret_use import Draw, Uses

_MATERIAL = frozenset({"randbytes", "getrandbits", "bytes"})
_PICKS = frozenset({"choice", "choices", "sample", "permutation"})
_INTEGERS = frozenset({"randint", "randrange", "integers", "random_integers"})


@rule(
    code="CR0104",
    name="insecure-random-for-secrets",
    case=1,
    severity=Severity.HIGH,
    cwe=338,
    nodes=(ast.Call,),
    # `random.*` / `numpy.random.*`: ``random.x``, ``from random import``, ``as``.
    requires=[["random"], ["random.", "random import", "random as"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds keys, nonces, salts, tokens, passwords and codes drawn from `random`.

    ## What it does
    Follows the output of `random.*`, `random.Random()` instances and `numpy.random.*`
    forward — through formatting, ``"".join``, ``.hex()``, hashing, encoding, variables,
    helper functions and their return values — and reports it when it becomes secret
    material: the key, nonce or salt argument of a cryptographic call, a variable,
    attribute, field or argument named like a secret (``token``, ``api_key``,
    ``password``, ``salt``, ``otp``, ``session_id``, ``reset_code``...), or the return
    value of a function named like one (``generate_token()``). Jitter, backoff,
    sampling, shuffling, picking a replica or an element of a list, simulations and test
    functions are not reported: the rule judges the use, not the import.

    ## Why is this bad?
    `random` is a Mersenne Twister: 624 consecutive outputs reveal its whole state, after
    which every past and future value (every other user's reset token, the next session
    id) can be computed. Its seed is guessable too. `numpy.random` is no better. Secrets
    drawn from it are predictable.

    ## Example
    ```python
    def generate_reset_token():
        return "".join(random.choices(string.ascii_letters + string.digits, k=32))
    ```

    ## Use instead
    `secrets.token_urlsafe(32)`, `secrets.token_bytes(32)` or `secrets.choice(...)`; for
    keys let `cryptorails.Keyring` generate them, and for nonces let
    `cryptorails.Sealer` choose them.

    ## References
    - Python documentation, `random`: "should not be used for security purposes"
    - CWE-338: Use of Cryptographically Weak Pseudo-Random Number Generator (PRNG)
    - CWE-330: Use of Insufficiently Random Values
    - PEP 506 (the `secrets` module)
    """
    assert isinstance(node, ast.Call)
    name = ctx.call_name(node)
    if not is_insecure_random(name) or is_test_code(ctx, node) or _in_factory(ctx, node):
        return
    assert name is not None
    use = Uses(ctx).follow(node, _draw(node, name, ctx))
    if use is not None:
        yield ctx.report(
            node, f"`{name}` is not a cryptographic generator, and its output becomes {use}"
        )


def _draw(call: ast.Call, name: str, ctx: FileContext) -> Draw:
    method = name.rsplit(".", 1)[-1]
    if method in _MATERIAL:
        return Draw(material=True)
    if method in _PICKS:
        population = call_argument(call, 0, "population") or call_argument(call, None, "seq")
        if population is None:
            population = call_argument(call, None, "a")
        if population is not None and _alphabet(population, ctx, 0):
            return Draw(material=True)
        return Draw(pick=True)
    if method in _INTEGERS:
        bounds = [ctx.literal(a) for a in [*call.args, *(k.value for k in call.keywords)]]
        ints = [abs(b) for b in bounds if type(b) is int]
        if ints and max(ints) >= 2**32:
            return Draw(material=True)
        known = len(ints) == len(bounds) and bool(ints)
        return Draw(digits=bool(ints) and max(ints) >= 1000, small=known and max(ints) < 1000)
    return Draw()


def _alphabet(expr: ast.AST, ctx: FileContext, depth: int) -> bool:
    """Whether `expr` is a set of characters (or digits) that secrets are spelled with."""
    if depth > 4:
        return False
    for value in ctx.values(expr):
        if isinstance(value, ast.Constant) and isinstance(value.value, str | bytes):
            if len(value.value) >= 2:
                return True
        elif isinstance(value, ast.Attribute | ast.Name):
            if (ctx.qualname(value) or "").startswith("string."):
                return True
        elif isinstance(value, ast.BinOp):
            if _alphabet(value.left, ctx, depth + 1) or _alphabet(value.right, ctx, depth + 1):
                return True
        elif isinstance(value, ast.Call):
            callee = ctx.call_name(value)
            if callee == "range":
                return True
            wraps = callee in ("list", "tuple", "sorted", "set", "str") and value.args
            if wraps and _alphabet(value.args[0], ctx, depth + 1):
                return True
        elif (
            isinstance(value, ast.List | ast.Tuple)
            and value.elts
            and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) and len(e.value) == 1
                for e in value.elts
            )
        ):
            return True
    return False


def _in_factory(ctx: FileContext, node: ast.AST) -> bool:
    """Inside a factory_boy/Faker class: test data by construction."""
    cls = ctx.enclosing_class(node)
    return cls is not None and any(
        (ctx.qualname(b) or "").startswith(("factory.", "faker.")) for b in cls.bases
    )
