"""Names the rules share: cryptographic APIs by qualified name, clocks, secret-ish names.

Qualified names are what `FileContext.qualname` returns, so import aliases are already
resolved. Keep each list in one place; rules import from here.
"""

from __future__ import annotations

import ast
import re

__all__ = [
    "CLOCKS",
    "NONCE_ARGUMENT",
    "SECRET_NAME",
    "call_argument",
    "identifier",
    "is_secret_name",
    "nonce_argument",
]

_AEAD = "cryptography.hazmat.primitives.ciphers.aead."
_MODES = "cryptography.hazmat.primitives.ciphers.modes."

# qualified callee → (position, keyword) of the nonce/IV it takes when encrypting.
NONCE_ARGUMENT: dict[str, tuple[int | None, str | None]] = {
    **{
        f"{_AEAD}{cls}.encrypt": (0, "nonce")
        for cls in ("AESGCM", "ChaCha20Poly1305", "AESCCM", "AESOCB3", "AESGCMSIV")
    },
    **{f"{_MODES}{m}": (0, "initialization_vector") for m in ("CBC", "OFB", "CFB", "CFB8")},
    f"{_MODES}GCM": (0, "initialization_vector"),
    f"{_MODES}CTR": (0, "nonce"),
    "cryptography.hazmat.primitives.ciphers.algorithms.ChaCha20": (1, "nonce"),
    "Crypto.Cipher.AES.new": (2, "nonce"),
    "Cryptodome.Cipher.AES.new": (2, "nonce"),
    "Crypto.Cipher.ChaCha20.new": (None, "nonce"),
    "Crypto.Cipher.ChaCha20_Poly1305.new": (None, "nonce"),
    "nacl.secret.SecretBox.encrypt": (1, "nonce"),
}

CLOCKS = frozenset(
    {
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "time.gmtime",
        "time.localtime",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "uuid.uuid1",
    }
)

# Identifiers that hold secrets, tokens or key material. Matched on the snake_case words
# of a name, so `api_key`, `apiKey`, `AES_KEY` and `hmac_secret` match, `keyboard` and
# `KEY_SIZE` do not (see `identifier`).
SECRET_NAME = re.compile(
    r"(^|_)(secret|secrets|password|passwd|pwd|passphrase|token|tokens|apikey|api_key"
    r"|private_key|privkey|signing_key|hmac_key|mac_key|enc_key|encryption_key|aes_key"
    r"|master_key|key|credential|credentials|bearer|jwt|session_key|client_secret)($|_)"
)
_NOT_SECRET_SUFFIX = re.compile(
    r"_(size|len|length|bits|bytes_len|url|uri|path|file|filename|name|id|ids|type|kind"
    r"|header|field|param|env|var|count|expiry|expires|ttl|timeout|prefix|format)$"
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def identifier(node: ast.AST) -> str | None:
    """The snake_case, lower-case name of a Name, Attribute, arg or subscript key."""
    if isinstance(node, ast.Name):
        raw = node.id
    elif isinstance(node, ast.Attribute):
        raw = node.attr
    elif isinstance(node, ast.arg):
        raw = node.arg
    elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        if not isinstance(node.slice.value, str):
            return None
        raw = node.slice.value.replace("-", "_")
    else:
        return None
    return _CAMEL.sub("_", raw).lower()


def is_secret_name(name: str | None) -> bool:
    """Whether a (snake_case) identifier names a secret, not its size, URL or id."""
    if not name or SECRET_NAME.search(name) is None:
        return False
    return _NOT_SECRET_SUFFIX.search(name) is None


def call_argument(call: ast.Call, position: int | None, keyword: str | None) -> ast.expr | None:
    """The argument passed at `position` or as `keyword`, if present."""
    if keyword is not None:
        for k in call.keywords:
            if k.arg == keyword:
                return k.value
    if position is not None and position < len(call.args):
        arg = call.args[position]
        return None if isinstance(arg, ast.Starred) else arg
    return None


def nonce_argument(call: ast.Call, callee: str | None) -> ast.expr | None:
    """The nonce/IV expression of an encrypting call, or None if `call` is not one.

    A GCM mode constructed with a tag is a decryption: its nonce was read from the
    message, so it is not checked.
    """
    if callee is None or callee not in NONCE_ARGUMENT:
        return None
    if callee.endswith("modes.GCM") and (
        len(call.args) > 1 or any(k.arg == "tag" for k in call.keywords)
    ):
        return None
    return call_argument(call, *NONCE_ARGUMENT[callee])
