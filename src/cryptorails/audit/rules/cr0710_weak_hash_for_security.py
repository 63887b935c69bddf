"""CR0710: MD5 or SHA-1 where collision or preimage resistance matters."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._classic import shallow_nodes

_HASHES = "cryptography.hazmat.primitives.hashes."
# qualified constructor -> (algorithm, where the hashed data is)
_WEAK: dict[str, tuple[str, int | None]] = {
    "hashlib.md5": ("MD5", 0),
    "hashlib.sha1": ("SHA-1", 0),
    f"{_HASHES}MD5": ("MD5", None),
    f"{_HASHES}SHA1": ("SHA-1", None),
    **{
        f"{package}.Hash.{module}.new": (algorithm, 0)
        for package in ("Crypto", "Cryptodome")
        for module, algorithm in (("MD5", "MD5"), ("SHA1", "SHA-1"), ("SHA", "SHA-1"))
    },
}
_BY_NAME = {"MD5": "MD5", "SHA1": "SHA-1", "SHA": "SHA-1"}
# Parents where a weak hash is not a weakness: HMAC needs no collision resistance
# (RFC 6151 §2.3, RFC 2104), MGF1/OAEP only mask (RFC 8017 §B.2.1), KDF hashes are
# CR0714's business.
_HARMLESS_PARENTS = frozenset(
    {"HMAC", "MGF1", "OAEP", "PBKDF2HMAC", "HKDF", "HKDFExpand", "ConcatKDFHash"}
    | {"ConcatKDFHMAC", "KBKDFHMAC", "X963KDF"}
)
# A tuple, not a set: `_signing_use` reports the first method found, whatever the hash seed.
_SIGNERS = ("sign", "verify", "ECDSA", "Prehashed", "sign_digest", "verify_digest")
_DIGEST_METHODS = frozenset({"hexdigest", "digest", "finalize", "copy"})

# Names (snake_case words) of what a security use hashes, produces or is done by.
_WORDS = r"(^|_)({})($|_)"
_PASSWORD = re.compile(_WORDS.format("password|passwd|pwd|pw|passphrase|passcode"))
_SECRET = re.compile(
    _WORDS.format(
        "secret|secrets|token|tokens|apikey|api_key|private_key|privkey|signing_key|hmac_key"
        "|mac_key|secret_key|session_key|credential|credentials|otp|pin_code"
    )
)
_PURPOSE = re.compile(
    _WORDS.format(
        "password|passwd|pwd|pw|passphrase|signature|signatures|sig|sign|signed|signing|mac"
        "|hmac|token|tokens|secret|apikey|api_key|otp|csrf|xsrf|credential|credentials"
        "|authenticate|authentication|auth|login|verify|verification|webhook"
    )
)
_NOT_SECRET = re.compile(
    r"_(size|len|length|bits|url|uri|path|file|filename|name|id|ids|type|kind|header|field"
    r"|param|env|var|count|expiry|expires|ttl|timeout|prefix|format)$"
    r"|(^|_)(page|next|continuation|cursor|pagination)_token"
    r"|(^|_)sign_(up|in|out)($|_)"
)
# Uses that need no collision resistance: caches, ETags, deduplication, sharding.
_BENIGN = re.compile(
    _WORDS.format(
        "cache|cached|caching|etag|etags|dedup|dedupe|deduplicate|shard|bucket|partition"
        "|gravatar|avatar|checksum|lock|colou?r|seed|fingerprint|content|chunk|blob|oid|git"
        "|filename|fragment|template|static|asset|assets|placeholder|memo|memoize"
    )
)
_CERT = re.compile(_WORDS.format("cert|certificate|peercert|peer_cert|der|spki|pubkey"))
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@rule(
    code="CR0710",
    name="weak-hash-for-security",
    case=7,
    severity=Severity.MEDIUM,
    cwe=328,
    nodes=(ast.Call,),
    requires=[["md5", "sha1", "sha-1", "sha_1", "hash.sha", "import sha"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds MD5 and SHA-1 used to protect passwords, tokens, signatures or certificates.

    ## What it does
    Reports ``hashlib.md5``/``sha1``, ``hashlib.new("md5")``, cryptography
    ``hashes.MD5()``/``SHA1()`` and PyCryptodome ``MD5.new``/``SHA1.new`` when the use is a
    security one: the hashed data is a password, secret or token (``md5(salt +
    password)``, ``sha1(SECRET_KEY + body)``); the digest is stored or named as a
    password hash, signature, MAC or token; it is compared with a signature or passed to
    ``hmac.compare_digest``; it pins a certificate; the hash is the algorithm of a
    signature (``key.sign(data, padding, hashes.SHA1())``, ``ECDSA(SHA1())``,
    ``pkcs1_15.new(key).sign(SHA1.new(data))``); or the code is a password, signing,
    token or verification function. Cache keys, ETags, deduplication, content
    addressing (git object ids) and calls with ``usedforsecurity=False`` are not
    reported, nor is HMAC-MD5/HMAC-SHA-1, MGF1 or OAEP, whose security does not rest
    on collision resistance.

    ## Why is this bad?
    MD5 collisions take seconds and SHA-1 collisions are practical (SHAttered 2017,
    chosen-prefix 2020): a signature or integrity check over either can be transferred
    to a forged document. Both are also fast: a GPU tries billions of MD5 or SHA-1
    password guesses per second, so a leaked table of such hashes is a table of
    passwords. ``hash(secret + message)`` is also open to length extension.

    ## Example
    ```python
    stored = hashlib.md5((salt + password).encode()).hexdigest()
    signature = hashlib.sha1(SECRET + payload).hexdigest()
    ```

    ## Use instead
    For passwords, a password hash (``hashlib.scrypt``, Argon2id, bcrypt). For integrity
    and authenticity, ``hmac.new(key, msg, "sha256")`` or signed tokens from
    `cryptorails.TokenIssuer`; for protected data, `cryptorails.Sealer`. For non-security
    uses, say so: ``hashlib.md5(data, usedforsecurity=False)``.

    ## References
    - RFC 6151 (MD5 security considerations); RFC 6194 (SHA-1 security considerations)
    - NIST SP 800-131A Rev. 2 §9 (SHA-1 disallowed for signatures)
    - Stevens et al., "The first collision for full SHA-1" (2017); Leurent and Peyrin,
      "SHA-1 is a Shambles" (2020)
    - CWE-328: Use of Weak Hash
    """
    if not isinstance(node, ast.Call):
        return
    found = _weak_hash(ctx, node)
    if found is None:
        return
    algorithm, data = found
    parent = ctx.parent(node)
    if (isinstance(parent, ast.Call) and node in parent.args) or isinstance(parent, ast.keyword):
        outer = parent if isinstance(parent, ast.Call) else ctx.parent(parent)
        outer_name = (ctx.call_name(outer) if outer is not None else None) or ""
        outer_name = outer_name.rsplit(".", 1)[-1]
        if outer_name in _HARMLESS_PARENTS:
            return
    reason = _evidence(ctx, node, data)
    if reason is not None:
        yield ctx.report(node, f"{algorithm} {reason}")


def _weak_hash(ctx: FileContext, call: ast.Call) -> tuple[str, list[ast.AST]] | None:
    """The algorithm and the hashed-data expressions of a weak hash constructor."""
    if any(
        k.arg == "usedforsecurity" and isinstance(k.value, ast.Constant) and k.value.value is False
        for k in call.keywords
    ):
        return None
    name = ctx.call_name(call)
    if name in _WEAK:
        algorithm, position = _WEAK[name]
        data = call_argument(call, position, "data" if position is not None else None)
        if data is None and position is not None:
            data = call_argument(call, None, "string")
        return algorithm, [data] if data is not None else []
    if name in ("hashlib.new", "hashlib.file_digest"):
        which = call_argument(
            call, 0 if name == "hashlib.new" else 1, "name" if name == "hashlib.new" else "digest"
        )
        literal = ctx.literal(which) if which is not None else None
        if isinstance(literal, str):
            by_name = _BY_NAME.get(literal.upper().replace("-", "").replace("_", ""))
            if by_name is not None:
                data = call_argument(call, 1, "data") if name == "hashlib.new" else None
                return by_name, [data] if data is not None else []
    return None


def _words(node: ast.AST) -> str:
    """snake_case name of a Name, Attribute, keyword, arg, string subscript or str key."""
    raw: str | None = None
    if isinstance(node, ast.Name):
        raw = node.id
    elif isinstance(node, ast.Attribute):
        raw = node.attr
    elif isinstance(node, ast.arg):
        raw = node.arg
    elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        raw = str(node.slice.value)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 64:
        raw = node.value
    if raw is None:
        return ""
    return re.sub(r"[^a-z0-9]+", "_", _CAMEL.sub("_", raw).lower()).strip("_")


def _names_in(ctx: FileContext, exprs: list[ast.AST]) -> list[str]:
    out: list[str] = []
    for expr in exprs:
        for sub in shallow_nodes(ctx, expr):
            if isinstance(sub, ast.Name | ast.Attribute | ast.Subscript):
                words = _words(sub)
                if words:
                    out.append(words)
    return out


def _digest_expr(ctx: FileContext, call: ast.Call) -> ast.AST:
    """``md5(x).hexdigest()`` for ``md5(x)``: the expression whose value is the digest."""
    current: ast.AST = call
    for _ in range(4):
        parent = ctx.parent(current)
        grand = ctx.parent(parent) if parent is not None else None
        if (
            isinstance(parent, ast.Attribute)
            and parent.attr in _DIGEST_METHODS
            and isinstance(grand, ast.Call)
            and grand.func is parent
        ):
            current = grand
        else:
            break
    return current


def _hash_object_uses(ctx: FileContext, call: ast.Call) -> tuple[list[ast.AST], list[ast.AST]]:
    """For ``h = md5()``: the arguments of ``h.update(...)`` and the ``h.hexdigest()``
    calls in the same scope."""
    parent = ctx.parent(call)
    if not (
        isinstance(parent, ast.Assign)
        and len(parent.targets) == 1
        and isinstance(parent.targets[0], ast.Name)
    ):
        return [], []
    name, scope = parent.targets[0].id, ctx.scope_of.get(call)
    updates: list[ast.AST] = []
    digests: list[ast.AST] = []
    for method in ("update", *_DIGEST_METHODS):
        for use in ctx.calls_by_attr.get(method, []):
            func = use.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == name
                and ctx.scope_of.get(use) is scope
            ):
                (updates if method == "update" else digests).extend(
                    use.args if method == "update" else [use]
                )
    return updates, digests


def _evidence(ctx: FileContext, call: ast.Call, data: list[ast.AST]) -> str | None:
    """Why this use is a security use, or None when nothing says it is."""
    signer = _signing_use(ctx, call)
    if signer is not None:
        return signer
    updates, digests = _hash_object_uses(ctx, call)
    data = [*data, *updates]
    inputs = _names_in(ctx, data)
    password = next((n for n in inputs if _PASSWORD.search(n) and not _NOT_SECRET.search(n)), None)
    if password is not None:
        return f"hashes a password ({password}): use a password hash"
    outputs = [_digest_expr(ctx, call), *digests]
    for output in outputs:
        compared = _compared_with(ctx, output)
        if compared is None:
            continue
        if _certificate_input(ctx, data, inputs):
            return "pins a certificate: use a SHA-256 fingerprint"
        if compared:
            return f"digest is checked against {compared}: use HMAC-SHA256"
    names = [n for output in outputs for n in _result_names(ctx, output)]
    function = ctx.enclosing_function(call)
    if function is not None:
        names.append(_words(ast.Name(id=function.name)))
    if any(_BENIGN.search(n) for n in names):
        return None
    secret = next((n for n in inputs if _SECRET.search(n) and not _NOT_SECRET.search(n)), None)
    if secret is not None:
        return f"hashes a secret ({secret}): use HMAC-SHA256 or a token from TokenIssuer"
    purpose = next((n for n in names if _PURPOSE.search(n) and not _NOT_SECRET.search(n)), None)
    if purpose is not None and _PASSWORD.search(purpose):
        return f"makes a password hash ({purpose}): use a password hash"
    if purpose is not None:
        return f"used for {purpose}: collisions are practical, use SHA-256 or HMAC-SHA256"
    return None


def _signing_use(ctx: FileContext, call: ast.Call) -> str | None:
    """The hash is the algorithm of a signature, directly or through one variable."""
    candidates: list[ast.AST] = [call]
    parent = ctx.parent(call)
    if (
        isinstance(parent, ast.Assign)
        and len(parent.targets) == 1
        and isinstance(parent.targets[0], ast.Name)
    ):
        name, scope = parent.targets[0].id, ctx.scope_of.get(call)
        for method in _SIGNERS:
            for use in [*ctx.calls_by_attr.get(method, []), *ctx.calls_by_name.get(method, [])]:
                if ctx.scope_of.get(use) is not scope:
                    continue
                for arg in (*use.args, *(k.value for k in use.keywords)):
                    if isinstance(arg, ast.Name) and arg.id == name:
                        candidates.append(arg)
    for candidate in candidates:
        holder = ctx.parent(candidate)
        if isinstance(holder, ast.keyword):
            holder = ctx.parent(holder)
        if isinstance(holder, ast.Call) and candidate is not holder.func:
            func = holder.func
            method = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if method in _SIGNERS:
                return f"is the hash of a signature ({method}): use SHA-256"
    return None


def _compared_with(ctx: FileContext, expr: ast.AST) -> str | None:
    """What the digest is compared with: a security name, '' for a comparison with
    something else, None when it is not compared."""
    parent = ctx.parent(expr)
    if isinstance(parent, ast.Call) and (ctx.call_name(parent) or "").endswith("compare_digest"):
        return "hmac.compare_digest"
    if not (
        isinstance(parent, ast.Compare)
        and all(isinstance(op, ast.Eq | ast.NotEq) for op in parent.ops)
    ):
        return None
    others: list[ast.AST] = [e for e in (parent.left, *parent.comparators) if e is not expr]
    for name in _names_in(ctx, others):
        if _PURPOSE.search(name) and not _NOT_SECRET.search(name):
            return name
    return ""


def _certificate_input(ctx: FileContext, data: list[ast.AST], inputs: list[str]) -> bool:
    if any(_CERT.search(n) for n in inputs):
        return True
    return any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in ("getpeercert", "public_bytes", "tbs_certificate_bytes")
        for expr in data
        for n in shallow_nodes(ctx, expr)
    )


def _result_names(ctx: FileContext, expr: ast.AST) -> list[str]:
    """Names the digest is stored under: assignment targets, keywords, dict keys,
    attributes."""
    parent = ctx.parent(expr)
    while isinstance(
        parent, ast.Call | ast.Subscript | ast.BinOp | ast.JoinedStr | ast.FormattedValue
    ):
        expr, parent = parent, ctx.parent(parent)
    if isinstance(parent, ast.Assign):
        return [_words(t) for t in parent.targets]
    if isinstance(parent, ast.AnnAssign | ast.AugAssign):
        return [_words(parent.target)]
    if isinstance(parent, ast.keyword) and parent.arg:
        return [_words(ast.Name(id=parent.arg))]
    if isinstance(parent, ast.Dict):
        for key, value in zip(parent.keys, parent.values, strict=True):
            if value is expr and key is not None:
                return [_words(key)]
    return []
