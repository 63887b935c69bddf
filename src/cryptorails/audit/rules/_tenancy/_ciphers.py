"""Cipher objects, their keys, and whether a key is one value for every tenant.

A key is *shared* when every tenant's data meets the same bytes: a module constant, a
module-level cipher object, a key read once at import, or a settings/environment value
read at the call site. A key is *per tenant* when its expression mentions the tenant
(``keys[tenant_id]``, ``get_key(tenant_id)``, ``tenant.dek``) — and anything else (a
parameter nobody in this module passes, a KMS call, a derivation) is *unknown*, which the
rules treat as safe: a finding needs evidence, not the absence of it.
"""

from __future__ import annotations

import ast

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._tenancy._names import mentions_tenant

__all__ = [
    "AEAD_AAD",
    "CIPHER_CLASSES",
    "cipher_constructors",
    "cipher_keys",
    "class_of",
    "is_shared_key",
    "plaintext_of",
]

_AEAD = "cryptography.hazmat.primitives.ciphers.aead."
_CIPHERS = "cryptography.hazmat.primitives.ciphers."
_DOME = ("Crypto.Cipher.", "Cryptodome.Cipher.")

# AEAD class → (position, keyword) of the associated data its `encrypt` takes.
AEAD_AAD: dict[str, tuple[int, str]] = {
    **{
        f"{_AEAD}{cls}": (2, "associated_data")
        for cls in ("AESGCM", "ChaCha20Poly1305", "AESCCM", "AESOCB3", "AESGCMSIV")
    },
    f"{_AEAD}AESSIV": (1, "associated_data"),
    "nacl.secret.Aead": (1, "aad"),
}

# Classes (or factory functions) whose first argument is the key.
_KEY_FIRST = frozenset(
    {
        *AEAD_AAD,
        "cryptography.fernet.Fernet",
        "nacl.secret.SecretBox",
        *(f"{p}{m}.new" for p in _DOME for m in ("AES", "ChaCha20_Poly1305", "ChaCha20")),
        f"{_CIPHERS}algorithms.AES",
        f"{_CIPHERS}algorithms.AES256",
        f"{_CIPHERS}algorithms.ChaCha20",
    }
)
_CIPHER = f"{_CIPHERS}Cipher"
_MULTI = "cryptography.fernet.MultiFernet"
CIPHER_CLASSES = frozenset({*_KEY_FIRST, _CIPHER, _MULTI})

_CONFIG_ROOTS = frozenset(
    {
        "settings",
        "django.conf.settings",
        "config",
        "conf",
        "cfg",
        "CONFIG",
        "Config",
        "SETTINGS",
        "app.config",
        "current_app.config",
        "flask.current_app.config",
        "self.settings",
        "self.config",
    }
)
_ENV_READS = frozenset({"os.getenv", "os.environ.get", "os.environ.__getitem__"})
# Calls that re-encode a value without changing whose it is.
_TRANSFORMS = frozenset(
    {
        "encode",
        "b64decode",
        "urlsafe_b64decode",
        "standard_b64decode",
        "b32decode",
        "fromhex",
        "unhexlify",
        "a2b_hex",
        "a2b_base64",
        "bytes",
        "bytearray",
        "get_secret_value",
        "reveal",
        "strip",
        "ljust",
        "str",
    }
)
_READS = frozenset({"read", "read_bytes", "read_text"})


def plaintext_of(ctx: FileContext, call: ast.Call, cipher: str) -> ast.expr | None:
    """The plaintext argument of an encrypting call on a `cipher` object."""
    if cipher in AEAD_AAD and cipher != "nacl.secret.Aead" and not cipher.endswith("AESSIV"):
        return call_argument(call, 1, "data")
    return call_argument(call, 0, None)


def class_of(ctx: FileContext, call: ast.Call) -> str | None:
    """The cipher class (qualified) that `call` constructs, if it is one."""
    name = ctx.call_name(call)
    return name if name in CIPHER_CLASSES else None


def cipher_constructors(ctx: FileContext, receiver: ast.AST) -> list[ast.Call]:
    """The cipher constructions (``AESGCM(key)``, ``Fernet(key)``, ``AES.new(...)``) that
    `receiver` may be, following names, ``self`` attributes and helper returns."""
    out: list[ast.Call] = []
    for value in ctx.values(receiver):
        if isinstance(value, ast.Call) and class_of(ctx, value) is not None:
            out.append(value)
    return out


def cipher_keys(ctx: FileContext, constructor: ast.Call) -> list[ast.expr]:
    """The key expressions a cipher construction is given."""
    name = class_of(ctx, constructor)
    if name is None:
        return []
    if name in _KEY_FIRST:
        key = call_argument(constructor, 0, "key")
        return [key] if key is not None else []
    first = call_argument(constructor, 0, "algorithm" if name == _CIPHER else "fernets")
    if first is None:
        return []
    out: list[ast.expr] = []
    if name == _CIPHER:
        for value in ctx.values(first):
            if isinstance(value, ast.Call) and ctx.call_name(value) in _KEY_FIRST:
                key = call_argument(value, 0, "key")
                if key is not None:
                    out.append(key)
        return out
    for value in ctx.values(first):  # MultiFernet([Fernet(k1), Fernet(k2)])
        if isinstance(value, ast.List | ast.Tuple):
            for element in value.elts:
                for inner in ctx.values(element):
                    if isinstance(inner, ast.Call):
                        out.extend(cipher_keys(ctx, inner))
    return out


def _class_attribute(ctx: FileContext, node: ast.AST) -> list[ast.AST]:
    """Values of ``self.X``/``cls.X`` when X is assigned in the class body."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("self", "cls")
    ):
        cls = ctx.enclosing_class(node)
        if cls is not None:
            return list(ctx.assigned.get(cls, {}).get(node.attr, []))
    return []


def _init_argument(ctx: FileContext, name: ast.AST) -> list[ast.AST]:
    """Arguments given for an ``__init__`` parameter where this module builds the class
    (``Vault(KEY)``): the engine follows function calls, not class instantiations."""
    if not isinstance(name, ast.Name):
        return []
    found = ctx.parameter_of(name)
    if found is None:
        return []
    function, arg = found
    cls = ctx.scope_of.get(function)
    if function.name != "__init__" or not isinstance(cls, ast.ClassDef):
        return []
    positional = [*function.args.posonlyargs, *function.args.args]
    index = positional.index(arg) - 1 if arg in positional else None
    out: list[ast.AST] = []
    for call in ctx.calls_by_name.get(cls.name, []):
        if (
            index is not None
            and 0 <= index < len(call.args)
            and not isinstance(call.args[index], ast.Starred)
        ):
            out.append(call.args[index])
        out.extend(k.value for k in call.keywords if k.arg == arg.arg)
    return out


def _root_name(ctx: FileContext, node: ast.AST) -> str | None:
    while isinstance(node, ast.Subscript | ast.Attribute):
        base = node.value
        qual = ctx.qualname(base)
        if qual in _CONFIG_ROOTS or qual == "os.environ":
            return qual
        if isinstance(base, ast.Name) and base.id in _CONFIG_ROOTS:
            return base.id
        node = base
    return None


def _is_config_read(ctx: FileContext, node: ast.AST) -> bool:
    """``settings.KEY``, ``app.config["KEY"]``, ``os.environ["KEY"]``, ``os.getenv(...)``."""
    if isinstance(node, ast.Call):
        name = ctx.call_name(node)
        if name in _ENV_READS:
            return True
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get":
            return _root_name(ctx, ast.Attribute(value=func.value, attr="x")) is not None
        return False
    if isinstance(node, ast.Attribute | ast.Subscript):
        return _root_name(ctx, node) is not None
    return False


def _is_constant(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, bytes | str) and bool(node.value)
    if isinstance(node, ast.BinOp):
        return _is_constant(node.left) and (
            _is_constant(node.right) or isinstance(node.right, ast.Constant)
        )
    return False


def _shared(ctx: FileContext, node: ast.AST, depth: int) -> bool | None:
    """True: one value for everyone; False: names the tenant; None: cannot tell."""
    if depth > 4:
        return None
    if mentions_tenant(ctx, node):
        return False
    scope = ctx.scope_of.get(node)
    if isinstance(scope, ast.Module | ast.ClassDef):
        return True
    if _is_constant(node) or _is_config_read(ctx, node):
        return True
    if isinstance(node, ast.IfExp):
        return _any_shared(ctx, [node.body, node.orelse], depth + 1)
    if isinstance(node, ast.BoolOp):
        return _any_shared(ctx, list(node.values), depth + 1)
    extra = _class_attribute(ctx, node) or _init_argument(ctx, node)
    if extra:
        return _any_shared(ctx, extra, depth + 1)
    if isinstance(node, ast.Call):
        func = node.func
        callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if callee in _TRANSFORMS or callee in _READS:
            inner: list[ast.AST] = list(node.args[:1])
            if isinstance(func, ast.Attribute):
                inner.append(func.value)
            return _any_shared(ctx, inner, depth + 1)
        if callee in ("open", "Path", "PurePath") and node.args:
            return _any_shared(ctx, list[ast.AST](node.args[:1]), depth + 1)
    return None


def _any_shared(ctx: FileContext, nodes: list[ast.AST], depth: int) -> bool | None:
    verdict: bool | None = None
    for node in nodes:
        for value in ctx.values(node):
            found = _shared(ctx, value, depth)
            if found is False:
                return False
            if found:
                verdict = True
    return verdict


def is_shared_key(ctx: FileContext, key: ast.expr) -> bool:
    """Whether `key` is one value for every caller (and never names a tenant)."""
    return _any_shared(ctx, [key], 0) is True
