"""CR0715: a password hash or password-based KDF with a constant salt."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument, identifier
from cryptorails.audit.rules._classic import (
    argument,
    from_random,
    kdf_of,
    shallow_nodes,
    static_terminal,
)


@rule(
    code="CR0715",
    name="static-salt",
    case=7,
    severity=Severity.MEDIUM,
    cwe=760,
    nodes=(ast.Call,),
    requires=[["pbkdf2", "scrypt", "crypt", "argon2", "hash_secret", "hashlib"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds password hashing whose salt is a constant.

    ## What it does
    Reports a salt built only from literals — ``salt=b"salt"``, a module constant, a
    parameter default, ``"app".encode()``, ``bytes(16)`` — passed to PBKDF2
    (``hashlib.pbkdf2_hmac``, ``PBKDF2HMAC``, PyCryptodome ``PBKDF2``), scrypt,
    ``bcrypt.hashpw``/``bcrypt.kdf``, Argon2 (argon2-cffi ``hash_secret``, cryptography
    ``Argon2id``), ``crypt.crypt`` and passlib's ``using(salt=...)``; and a password
    hashed with a plain hash together with a constant salt (``sha256(SALT + password)``,
    ``f"static-salt{password}"``). HKDF is not
    checked: RFC 5869 §3.1 allows a fixed (even absent) salt, because its input is
    already a high-entropy key; for the same reason a KDF whose input comes from
    ``os.urandom`` is not reported.

    ## Why is this bad?
    The salt exists so that equal passwords hash differently and one precomputed table
    cannot attack every account at once. With a constant salt, two users with the same
    password have the same hash, and an attacker who learns the salt (it is in the source
    code) cracks the whole table in one pass.

    ## Example
    ```python
    SALT = b"my-app-salt"
    key = hashlib.pbkdf2_hmac("sha256", password, SALT, 600_000)
    ```

    ## Use instead
    A fresh random salt per password (``os.urandom(16)``), stored next to the hash. If
    the password derives an encryption key, keep data keys in a `cryptorails.Keyring`
    and seal with `cryptorails.Sealer`, so the password only unlocks the keyring.

    ## References
    - NIST SP 800-132 §5.1 (salt of at least 128 random bits)
    - OWASP Password Storage Cheat Sheet (salting)
    - RFC 8018 §4.1 (PBKDF2 salt)
    - CWE-760: Use of a One-Way Hash with a Predictable Salt
    """
    if not isinstance(node, ast.Call):
        return
    found = kdf_of(ctx, node)
    if found is None:
        yield from _salted_fast_hash(node, ctx)
        return
    name, kdf = found
    salt = argument(node, kdf.salt)
    if salt is None:
        return
    password = argument(node, kdf.password)
    if password is not None and from_random(ctx, password):
        return
    constant = static_terminal(ctx, salt)
    if constant is None:
        return
    shown = ast.unparse(constant)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    line = getattr(constant, "lineno", None)
    origin = f" (line {line})" if line is not None and line != salt.lineno else ""
    yield ctx.report(
        salt,
        f"{name.rsplit('.', 1)[-1]} salt is the constant {shown}{origin}: "
        "equal passwords give equal hashes",
    )


_FAST_HASHES = frozenset(
    {f"hashlib.{n}" for n in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")}
    | {f"hashlib.{n}" for n in ("sha3_256", "sha3_512", "blake2b", "blake2s")}
)
_PASSWORD = re.compile(r"(^|_)(password|passwd|pwd|pw|passphrase|passcode)($|_)")
_MIN_LITERAL = 4  # ":" or "$" between fields is a separator, not a salt


def _salted_fast_hash(call: ast.Call, ctx: FileContext) -> Iterator[Finding]:
    """``sha256(SALT + password)``: a password hashed with a constant salt (and a fast
    hash, which CR0710 and CR0714's advice cover)."""
    name = ctx.call_name(call)
    if name not in _FAST_HASHES and name != "hashlib.new":
        return
    data = call_argument(call, 1 if name == "hashlib.new" else 0, None)
    if data is None:
        return
    nodes = list(shallow_nodes(ctx, data))
    if not any(_PASSWORD.search(identifier(n) or "") for n in nodes):
        return
    for sub in nodes:
        salt: ast.AST | None = None
        if isinstance(sub, ast.Name | ast.Attribute) and "salt" in (identifier(sub) or ""):
            salt = static_terminal(ctx, sub)
        elif isinstance(sub, ast.BinOp | ast.JoinedStr):
            salt = next(
                (
                    c
                    for c in ast.iter_child_nodes(sub)
                    if isinstance(c, ast.Constant)
                    and isinstance(c.value, str | bytes)
                    and len(c.value) >= _MIN_LITERAL
                ),
                None,
            )
        if salt is not None:
            shown = ast.unparse(salt)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            yield ctx.report(
                call, f"password hashed with the constant salt {shown}: equal passwords collide"
            )
            return
