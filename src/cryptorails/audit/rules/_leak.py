"""Shared by the side-channel and leakage rules (CR05xx, CR06xx): which names and values
hold secrets.

Names are judged on their snake_case words (`words`), so `apiKey`, `API_KEY` and
`x-api-key` agree. A word that says the value is *about* a secret rather than the secret
itself (`TOKEN_URL`, `key_size`, `password_field`, `public_key`, `cache_key`) makes the
name non-secret. Bare `key` is weak: most `key` variables are dictionary keys, so a rule
needs other evidence (data flow) before it treats one as key material.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptorails.audit._context import FileContext

__all__ = [
    "DECRYPT_METHODS",
    "KEY_GENERATORS",
    "TOKEN_GENERATORS",
    "auth_module",
    "is_hash_name",
    "is_mac_call",
    "lexer_token",
    "name_category",
    "names_non_secret",
    "raw_name",
    "secret_literal_category",
    "words",
]

_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_TRAILING_DIGITS = re.compile(r"([a-z]{3,})([0-9]+)")

_PASSWORD = frozenset({"password", "passwords", "passwd", "pwd", "pw", "passphrase", "passcode"})
_TOKEN = frozenset(
    {"token", "tokens", "tok", "jwt", "bearer", "apikey", "csrf", "xsrf", "otp", "totp", "hotp"}
)
# `code` alone is anything; these qualifiers make it a one-time secret.
_CODE_QUALIFIERS = frozenset(
    {"reset", "otp", "verification", "mfa", "2fa", "totp", "recovery", "backup",
     "sms", "login", "magic", "auth", "authorization", "invite", "activation", "one"}
)  # fmt: skip
_SECRET = frozenset({"secret", "secrets", "credential", "credentials", "creds"})
_AUTHORIZATION = frozenset({"authorization"})
_COOKIE = frozenset({"cookie", "cookies"})
_PLAINTEXT = frozenset({"plaintext", "cleartext", "decrypted"})
_SIGNATURE = frozenset({"signature", "signatures", "sig", "sigs", "mac", "hmac"})
_DIGEST = frozenset({"digest", "hexdigest", "hash", "hashed"})
_COMPOUND_KEYS = frozenset(
    {"privkey", "secretkey", "signingkey", "hmackey", "apikey", "masterkey", "dek", "kek"}
)
# Words that turn `key` into key material when they qualify it.
_KEY_QUALIFIERS = frozenset(
    {"api", "private", "priv", "signing", "sign", "hmac", "mac", "enc", "encryption",
     "decryption", "aes", "master", "secret", "session", "wrapping", "symmetric", "shared",
     "webhook", "jwt", "auth", "access", "client", "fernet", "cipher", "crypto", "derived",
     "raw"}
)  # fmt: skip
# Words that say a name is about a secret, not the secret: its size, location, name, id,
# type, a flag, a count, or public material.
_NOT_SECRET = frozenset(
    {
        "url", "uri", "urls", "endpoint", "path", "file", "filename", "dir", "name",
        "names", "id", "ids", "kid", "type", "types", "kind", "size", "len", "length",
        "bits", "count", "num", "max", "min", "limit", "field", "fields", "param",
        "params", "env", "var", "prefix", "suffix", "format", "fmt", "template",
        "pattern", "regex", "alphabet", "charset", "chars", "label", "help", "description",
        "prompt", "hint", "placeholder", "message", "msg", "error", "errors", "scope",
        "scopes", "audience", "issuer", "algorithm", "algorithms", "alg", "version",
        "public", "pub", "verifying", "verifier", "validator", "validators", "policy",
        "strength", "rules", "expiry", "expires", "expiration", "exp", "ttl", "timeout",
        "lifetime", "age", "cache", "idempotency", "primary", "foreign", "sort",
        "partition", "lookup", "dict", "object", "bucket", "s3", "func", "fn",
        "callback", "class", "factory", "manager", "service", "provider", "model", "form",
        "schema", "column", "attr", "attribute", "fingerprint", "fp", "usage", "page",
        "pagination", "next", "continuation", "cursor", "input", "output", "completion",
        "is", "has", "should", "use", "uses", "needs", "required", "require", "requires",
        "enabled", "enable", "disabled", "valid", "invalid", "ok", "set", "changed",
        "match", "matches", "mismatch", "present", "missing", "allowed", "allow",
        "location", "source", "loader", "reader", "parser", "lexer", "arn", "ref",
        "mode", "status", "state", "flag", "option", "options", "widget", "last",
        "date", "time", "timestamp", "created", "updated", "expired", "hasher", "hashers",
        "rotation", "store", "storage", "registry", "handler", "backend",
        "middleware", "view", "confirm", "confirmation", "repeat", "retype",
        "again", "query", "entropy", "sha", "kdf",
        "salt", "iterations", "rounds", "method", "methods", "mask", "masked", "redacted",
        "preview", "tail", "head", "verify", "verified", "check", "checked",
        "validate", "incorrect", "wrong", "mismatched", "similar", "start", "end", "begin",
        "stop", "pos", "position", "offset", "index", "idx", "line", "lineno", "col",
        "span", "sep", "separator", "delimiter", "kwarg", "kwargs", "arg", "args",
        "upper", "lower", "keyword", "keywords", "crc", "crc32", "crc32c", "checksum",
        "envvar", "environ", "warn", "warning", "warnings", "starting", "resume", "marker",
        "window", "ignored", "user", "username", "email", "region", "account", "host",
        "port", "scheme", "providers", "inputs", "decoder", "encoder",
        "generator", "serializer", "fetcher", "refresher", "signer", "unavailable",
        "unreachable", "shredded", "compromised", "destroyed",
    }
)  # fmt: skip
# Extra non-secret words for UPPER_CASE names (constants name headers and fields; a
# lower-case `sig_header` holds the header's value).
_NOT_SECRET_CONSTANT = frozenset({"header", "headers", "cookie", "key_name", "name"})

DECRYPT_METHODS = frozenset({"decrypt", "decrypt_at_time", "decrypt_and_verify", "unseal"})
KEY_GENERATORS = frozenset(
    {"generate_key", "generate_private_key", "private_bytes", "private_bytes_raw"}
)
TOKEN_GENERATORS = frozenset(
    {"secrets.token_hex", "secrets.token_urlsafe", "secrets.token_bytes", "jwt.encode",
     "flask_jwt_extended.create_access_token", "flask_jwt_extended.create_refresh_token"}
)  # fmt: skip
_MAC_CALLS = frozenset(
    {"hmac.new", "hmac.digest", "hmac.HMAC", "cryptography.hazmat.primitives.hmac.HMAC",
     "Crypto.Hash.HMAC.new", "Cryptodome.Hash.HMAC.new"}
)  # fmt: skip


def raw_name(node: ast.AST) -> str | None:
    """The name as written: a Name's id, an Attribute's attr, an arg, a constant key."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.arg):
        return node.arg
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        value = node.slice.value
        return value if isinstance(value, str) else None
    return None


def words(name: str) -> tuple[str, ...]:
    """The lower-case words of an identifier or header name (`X-Api-Key` → x, api, key;
    `password2` → password, 2)."""
    out: list[str] = []
    for word in _SPLIT.split(_CAMEL.sub("_", name).lower()):
        match = _TRAILING_DIGITS.fullmatch(word)
        if match is not None:
            out.extend(match.groups())
        elif word:
            out.append(word)
    return tuple(out)


def names_non_secret(name: str | None) -> bool:
    """Whether a name says its value is *about* a secret (its size, id, type, URL...)."""
    if not name:
        return False
    ws = words(name)
    if any(w in _NOT_SECRET for w in ws):
        return True
    return name.isupper() and any(w in _NOT_SECRET_CONSTANT for w in ws)


def name_category(name: str | None) -> str | None:
    """What kind of secret a name holds, or None.

    Returns one of ``password``, ``token``, ``secret``, ``key``, ``weak-key`` (bare
    `key`: needs other evidence), ``authorization``, ``cookie``, ``plaintext``,
    ``signature`` and ``digest`` (the last two: a value that *may* be secret, such as a
    computed MAC; rules decide with data flow).
    """
    if not name:
        return None
    ws = words(name)
    if not ws:
        return None
    constant = name.isupper()
    joined = "_".join(ws)
    if "reset_url" in joined or "header_name" in joined or "key_name" in joined:
        return None
    if any(w in _NOT_SECRET for w in ws):
        return None
    if constant and any(w in _NOT_SECRET_CONSTANT for w in ws):
        return None
    wordset = set(ws)
    if wordset & _PASSWORD:
        return "password"
    if wordset & _AUTHORIZATION or ("auth" in wordset and "header" in wordset):
        return "authorization"
    if wordset & _PLAINTEXT or ("plain" in wordset and "text" in wordset):
        return "plaintext"
    if wordset & _SECRET:
        return "secret"
    if wordset & _COMPOUND_KEYS:
        return "key"
    if wordset & {"key", "keys"}:
        return "key" if wordset & _KEY_QUALIFIERS else "weak-key"
    if wordset & _TOKEN or ("code" in wordset and wordset & _CODE_QUALIFIERS):
        return "token"
    if wordset & _COOKIE and not constant:
        return "cookie"
    if wordset & _SIGNATURE:
        return "signature"
    if wordset & _DIGEST:
        return "digest"
    return None


def secret_literal_category(text: str) -> str | None:
    """The category of a header or mapping key written as a literal (``"Authorization"``,
    ``"X-Api-Key"``, ``"password"``), ignoring the upper-case rule for constants."""
    return name_category(_CAMEL.sub("_", text).lower())


_LEXER_WORDS = frozenset(
    {"parser", "lexer", "tokenizer", "scanner", "grammar", "tokenize", "unexpected"}
)
# Classes whose "token" identifies an owner or a position, not a caller: a lock's or
# lease's owner token, a paginator's cursor.
_OWNER_TOKEN_WORDS = frozenset(
    {"lock", "lease", "mutex", "semaphore", "paginator", "cursor", "bucket", "bandwidth",
     "scheduler"}
)  # fmt: skip
_LEXER_CALLS = frozenset(
    {"split_contents", "tokenize", "next_token", "get_token", "split", "finditer", "shlex"}
)
_LEXER_MODULES = ("tokenize", "token", "shlex", "pyparsing", "lark", "ply", "sqlparse")


_AUTH_VOCABULARY = (
    b"authoriz", b"authent", b"bearer", b"jwt", b"oauth", b"login", b"credential",
    b"csrf", b"api_key", b"apikey", b"api-key", b"password", b"passwd", b"hmac",
    b"secret", b"cookie", b"session", b"otp", b"access_token", b"refresh_token",
    b"secrets.token", b"x-api", b"signature",
)  # fmt: skip


def auth_module(ctx: FileContext) -> bool:
    """Whether the module deals with authentication at all. In one that does not, a
    `token` is a parser's or a lock's, not a credential."""
    found = ctx.cache.get("auth_module")
    if found is None:
        source = ctx.lowered
        found = ctx.cache["auth_module"] = any(word in source for word in _AUTH_VOCABULARY)
    return found is True


def lexer_token(ctx: FileContext, node: ast.AST) -> bool:
    """Whether a `token` value is not a credential: a parser's token (a piece of text),
    living in a parser or lexer or coming from splitting text, or the owner token of a
    lock or lease."""
    if not auth_module(ctx):
        return True
    if any(ctx.imports.get(m) == m for m in _LEXER_MODULES) or any(
        set(words(dotted)) & _LEXER_WORDS or dotted.endswith((".Token", "token.Token"))
        for dotted in ctx.imports.values()
    ):
        return True
    if "Token" in ctx.functions or any(
        isinstance(c, ast.ClassDef) and c.name == "Token" for c in ctx.by_type.get(ast.ClassDef, ())
    ):
        return True
    function = ctx.enclosing_function(node)
    if function is not None:
        params = [a.arg for a in (*function.args.args, *function.args.kwonlyargs)]
        if any(set(words(p)) & _LEXER_WORDS for p in params):
            return True
    cls = ctx.enclosing_class(node)
    if cls is not None and set(words(cls.name)) & (_LEXER_WORDS | _OWNER_TOKEN_WORDS):
        return True
    if function is not None and isinstance(node, ast.Name) and _used_as_text_token(node, function):
        return True
    if isinstance(node, ast.expr):
        for value in ctx.walk_values(node):
            if not isinstance(value, ast.Call):
                continue
            func = value.func
            callee = raw_name(func) or ""
            if callee in _LEXER_CALLS or set(words(callee)) & _LEXER_WORDS:
                return True
            if isinstance(func, ast.Attribute) and set(words(raw_name(func.value) or "")) & (
                _LEXER_WORDS
            ):
                return True
    return False


_TOKEN_ATTRIBUTES = frozenset(
    {"type", "kind", "value", "string", "text", "lineno", "line", "col", "pos", "start",
     "end", "contents", "token_type", "split_contents", "lexeme", "tag"}
)  # fmt: skip


def _reads(node: ast.AST, name: str) -> bool:
    """`token` or `token[0]`."""
    if isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Name) and node.id == name


def _used_as_text_token(name: ast.Name, function: ast.AST) -> bool:
    """`token.type`, `token.value`, `token == "("` in the same function: a parser token."""
    for inner in ast.walk(function):
        if (
            isinstance(inner, ast.Attribute)
            and isinstance(inner.value, ast.Name)
            and inner.value.id == name.id
            and inner.attr in _TOKEN_ATTRIBUTES
        ):
            return True
        if isinstance(inner, ast.Compare) and any(
            _reads(n, name.id) for n in (inner.left, *inner.comparators)
        ):
            for operand in (inner.left, *inner.comparators):
                if (
                    isinstance(operand, ast.Constant)
                    and isinstance(operand.value, str)
                    and 0 < len(operand.value) <= 3
                    and not operand.value.isalnum()
                ):
                    return True
    return False


def is_hash_name(name: str | None) -> bool:
    """Whether a name says it holds a hash or fingerprint (`token_hash`, `key_digest`)."""
    return bool(name) and bool(set(words(name or "")) & _DIGEST)


def is_mac_call(qualname: str | None) -> bool:
    """Whether a callee computes a MAC (its output authenticates, so it is secret)."""
    return qualname is not None and qualname in _MAC_CALLS
