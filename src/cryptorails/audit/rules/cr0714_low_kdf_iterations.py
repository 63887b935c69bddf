"""CR0714: a password hash or password-based KDF with too little work."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._classic import (
    Kdf,
    argument,
    from_random,
    hash_family,
    int_values,
    kdf_of,
)

# OWASP Password Storage Cheat Sheet (2023): PBKDF2 iterations per PRF hash.
_PBKDF2_MINIMUM = {
    "SHA1": 1_300_000,
    "MD5": 1_300_000,  # cheaper per iteration than SHA-1; no lower bound is defensible
    "SHA224": 600_000,
    "SHA256": 600_000,
    "SHA384": 210_000,
    "SHA512": 210_000,
}
_PBKDF2_UNKNOWN = 210_000  # the lowest of the above: unknown hashes are never over-reported
# scrypt: N*r*p below 2**17 (N=2**14, r=8, p=1, the interactive-login parameters of the
# scrypt paper and RFC 7914 §2) is reported. OWASP asks for more (N=2**17); values in
# between are a judgment call, not a finding.
_SCRYPT_MINIMUM = 2**17
_BCRYPT_MINIMUM = 10  # OWASP: work factor 10 or more
# OWASP: Argon2id with m=46 MiB/t=1, 19/2, 12/3, 9/4 or 7/5 (memory in KiB times passes
# is at least 7 MiB * 5); less memory than 7 MiB is never enough.
_ARGON2_MIN_MEMORY = 7 * 1024
_ARGON2_COST = 7 * 1024 * 5
_DJANGO_HASHERS = {"PBKDF2PasswordHasher": "SHA256", "PBKDF2SHA1PasswordHasher": "SHA1"}


@rule(
    code="CR0714",
    name="low-kdf-iterations",
    case=7,
    severity=Severity.MEDIUM,
    cwe=916,
    nodes=(ast.Call, ast.ClassDef),
    requires=[["pbkdf2", "scrypt", "bcrypt", "gensalt", "hasher", "argon2"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds password hashing with an iteration count or cost that is too low.

    ## What it does
    Reports PBKDF2 (``hashlib.pbkdf2_hmac``, cryptography's ``PBKDF2HMAC``,
    PyCryptodome's ``PBKDF2`` whose default is 1,000 rounds of HMAC-SHA1, passlib's
    ``pbkdf2_*.using(rounds=...)``, and Django hasher subclasses that lower
    ``iterations``) below the OWASP 2023 minimums: 1,300,000 iterations for HMAC-SHA1,
    600,000 for HMAC-SHA256, 210,000 for HMAC-SHA512 (210,000 when the hash is not
    known). Reports scrypt whose ``N*r*p`` is below ``2**17`` (N=2**14, r=8, p=1),
    bcrypt with a cost below 10, and Argon2 (argon2-cffi, cryptography) with less than
    7 MiB of memory or less than OWASP's memory-times-passes (7 MiB x 5). Counts are
    folded through constants, arithmetic (``10**5``) and helpers. A KDF whose input
    comes from ``os.urandom`` derives a key from a key, where iterations add nothing,
    and is not reported.

    ## Why is this bad?
    A stolen password table is attacked offline on GPUs that compute billions of
    SHA-256 hashes per second. The iteration count is the only thing standing between a
    leaked hash and the password it hides: 10,000 iterations make a common password a
    matter of seconds.

    ## Example
    ```python
    digest = hashlib.pbkdf2_hmac("sha256", password, salt, 100_000)
    ```

    ## Use instead
    ``hashlib.pbkdf2_hmac("sha256", password, salt, 600_000)`` or, better, a
    memory-hard function (scrypt with N=2**17, Argon2id). Encrypt the data the password
    protects with `cryptorails.Sealer` under a `cryptorails.Keyring` key, so that the
    password only gates access and never is the key.

    ## References
    - OWASP Password Storage Cheat Sheet (PBKDF2, scrypt, bcrypt and Argon2id, 2023)
    - NIST SP 800-63B §5.1.1.2 (memorized secret verifiers)
    - RFC 7914 §2 (scrypt parameters); RFC 8018 §4.2 (PBKDF2 iteration count)
    - CWE-916: Use of Password Hash With Insufficient Computational Effort
    """
    if isinstance(node, ast.ClassDef):
        yield from _django_hasher(node, ctx)
        return
    if not isinstance(node, ast.Call):
        return
    found = kdf_of(ctx, node)
    if found is None:
        return
    name, kdf = found
    password = argument(node, kdf.password)
    if password is not None and from_random(ctx, password):
        return
    short = ".".join(name.split(".")[-2:]) if name.startswith("passlib.") else name.split(".")[-1]
    if kdf.kind == "pbkdf2":
        yield from _pbkdf2(node, ctx, kdf, short)
    elif kdf.kind == "scrypt":
        yield from _scrypt(node, ctx, kdf, short)
    elif kdf.kind == "bcrypt" and kdf.iterations is not None:
        yield from _bcrypt(node, ctx, kdf, short)
    elif kdf.kind == "argon2" and kdf.memory is not None:
        yield from _argon2(node, ctx, kdf, short)


def _argon2(call: ast.Call, ctx: FileContext, kdf: Kdf, short: str) -> Iterator[Finding]:
    memory_expr = argument(call, kdf.memory)
    passes = [v for v, _ in _counts(ctx, call, kdf)]
    if memory_expr is None:
        memories = [kdf.default_memory] if kdf.default_memory is not None else []
    else:
        memories = [v for v, _ in int_values(ctx, memory_expr)]
    if not memories or not passes:
        return
    memory, time = min(memories), min(passes)
    if memory > 0 and time > 0 and (memory < _ARGON2_MIN_MEMORY or memory * time < _ARGON2_COST):
        yield ctx.report(
            memory_expr or argument(call, kdf.iterations) or call,
            f"{short} with {memory:,} KiB and {time} passes: below OWASP's Argon2id minimum "
            "(19 MiB with 2 passes, or an equivalent memory*time)",
        )


def _counts(ctx: FileContext, call: ast.Call, kdf: Kdf) -> list[tuple[int, ast.AST]]:
    expr = argument(call, kdf.iterations)
    if expr is None:
        return [(kdf.default_iterations, call)] if kdf.default_iterations is not None else []
    return int_values(ctx, expr)


def _pbkdf2(call: ast.Call, ctx: FileContext, kdf: Kdf, short: str) -> Iterator[Finding]:
    family = kdf.default_hash
    hash_expr = argument(call, kdf.hash)
    if hash_expr is not None:
        family = hash_family(ctx, hash_expr)
    elif any(k.arg == "prf" for k in call.keywords):
        family = None
    minimum = _PBKDF2_MINIMUM.get(family or "", _PBKDF2_UNKNOWN)
    label = f"HMAC-{family}" if family in _PBKDF2_MINIMUM else "PBKDF2"
    for count, source in _counts(ctx, call, kdf):
        if count < minimum:
            at = argument(call, kdf.iterations) or call
            origin = "" if source is call or source is at else _origin(source, at)
            implicit = " (the default)" if source is call else ""
            yield ctx.report(
                at,
                f"{short} with {count:,} iterations{implicit}{origin}: {label} needs at "
                f"least {minimum:,} (OWASP 2023)",
            )
            return


def _scrypt(call: ast.Call, ctx: FileContext, kdf: Kdf, short: str) -> Iterator[Finding]:
    n_expr = argument(call, kdf.n)
    if n_expr is None:
        return
    r_values = _ints(ctx, argument(call, kdf.r)) or [8]
    p_values = _ints(ctx, argument(call, kdf.p)) or [1]
    for n, _ in int_values(ctx, n_expr):
        r, p = min(r_values), min(p_values)
        if 0 < n * r * p < _SCRYPT_MINIMUM:
            yield ctx.report(
                n_expr,
                f"{short} with N={n:,}, r={r}, p={p}: N*r*p is below 2**17 (N=2**14, r=8, "
                "p=1, RFC 7914)",
            )
            return


def _ints(ctx: FileContext, expr: ast.AST | None) -> list[int]:
    return [] if expr is None else [v for v, _ in int_values(ctx, expr)]


def _bcrypt(call: ast.Call, ctx: FileContext, kdf: Kdf, short: str) -> Iterator[Finding]:
    for cost, _ in _counts(ctx, call, kdf):
        if 0 < cost < _BCRYPT_MINIMUM:
            at = argument(call, kdf.iterations) or call
            yield ctx.report(at, f"{short} with cost {cost}: bcrypt needs at least 10 (OWASP)")
            return


def _django_hasher(node: ast.ClassDef, ctx: FileContext) -> Iterator[Finding]:
    family = None
    for base in node.bases:
        family = _DJANGO_HASHERS.get((ctx.qualname(base) or "").rsplit(".", 1)[-1]) or family
    if family is None:
        return
    for statement in node.body:
        if not isinstance(statement, ast.Assign):
            continue
        if not any(isinstance(t, ast.Name) and t.id == "iterations" for t in statement.targets):
            continue
        minimum = _PBKDF2_MINIMUM[family]
        for count, _ in int_values(ctx, statement.value):
            if count < minimum:
                yield ctx.report(
                    statement,
                    f"{node.name}.iterations = {count:,}: HMAC-{family} needs at least "
                    f"{minimum:,} (OWASP 2023)",
                )
                return


def _origin(source: ast.AST, at: ast.AST) -> str:
    line = getattr(source, "lineno", None)
    if line is None or line == getattr(at, "lineno", None):
        return ""
    return f" (from line {line})"
