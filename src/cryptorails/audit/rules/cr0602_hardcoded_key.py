"""CR0602: keys and secrets written into the source."""

from __future__ import annotations

import ast
import math
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import PurePath

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._leak import name_category, raw_name
from cryptorails.audit.rules._prefilter import SECRET_GATE, SECRET_NAMES, group

_AEAD = "cryptography.hazmat.primitives.ciphers.aead."
_ALGORITHMS = "cryptography.hazmat.primitives.ciphers.algorithms."
_ASYM = "cryptography.hazmat.primitives.asymmetric."
# qualified callee → (position, keyword) of the key or secret it takes.
_KEY_SINKS: dict[str, tuple[int | None, str | None]] = {
    **{
        f"{_AEAD}{c}": (0, "key")
        for c in ("AESGCM", "ChaCha20Poly1305", "AESCCM", "AESOCB3", "AESGCMSIV", "AESSIV")
    },
    **{
        f"{_ALGORITHMS}{c}": (0, "key")
        for c in ("AES", "AES128", "AES256", "ChaCha20", "Camellia", "TripleDES", "SM4")
    },
    "cryptography.fernet.Fernet": (0, "key"),
    "cryptography.hazmat.primitives.hmac.HMAC": (0, "key"),
    "hmac.new": (0, "key"),
    "hmac.digest": (0, "key"),
    "hmac.HMAC": (0, "key"),
    "jwt.encode": (1, "key"),
    "jwt.decode": (1, "key"),
    "jwt.PyJWT.encode": (1, "key"),
    "jwt.PyJWT.decode": (1, "key"),
    "jose.jwt.encode": (1, "key"),
    "jose.jwt.decode": (1, "key"),
    "Crypto.Cipher.AES.new": (0, "key"),
    "Cryptodome.Cipher.AES.new": (0, "key"),
    "Crypto.Cipher.ChaCha20_Poly1305.new": (None, "key"),
    "Cryptodome.Cipher.ChaCha20_Poly1305.new": (None, "key"),
    "Crypto.Hash.HMAC.new": (0, "key"),
    "Cryptodome.Hash.HMAC.new": (0, "key"),
    "nacl.secret.SecretBox": (0, "key"),
    "nacl.signing.SigningKey": (0, "seed"),
    "nacl.public.PrivateKey": (0, "private_key"),
    f"{_ASYM}ed25519.Ed25519PrivateKey.from_private_bytes": (0, "data"),
    f"{_ASYM}x25519.X25519PrivateKey.from_private_bytes": (0, "data"),
    "cryptography.hazmat.primitives.serialization.load_pem_private_key": (0, "data"),
    "hashlib.pbkdf2_hmac": (1, "password"),
    "cryptorails.Secret": (0, "value"),
    "cryptorails.secret.Secret": (0, "value"),
}
_SIGNERS = frozenset(
    {"Signer", "TimestampSigner", "Serializer", "TimedSerializer", "URLSafeSerializer",
     "URLSafeTimedSerializer", "JSONWebSignatureSerializer"}
)  # fmt: skip
_CONFIG_KEYS = frozenset({"secret", "key"})
_DECODERS = frozenset(
    {"bytes", "bytearray", "str", "bytes.fromhex", "base64.b64decode", "base64.b64encode",
     "base64.urlsafe_b64encode", "base64.urlsafe_b64decode", "base64.b32decode",
     "base64.b16decode", "binascii.unhexlify", "binascii.a2b_hex", "codecs.decode",
     "cryptorails.Secret", "cryptorails.secret.Secret"}
)  # fmt: skip
_PLACEHOLDER = re.compile(
    r"change|example|your|placeholder|xxx|dummy|fake|replace|insert|todo|sample|<|>|\{|\}"
    r"|%s|\$",
    re.IGNORECASE,
)
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_CAMEL_NAME = re.compile(r"[A-Z][A-Za-z]*[a-z][A-Z][A-Za-z]*")
# Letters and separators only (`_password_reset_token`, `X-Webhook-Secret`): a name.
_WORDY = re.compile(r"[A-Za-z_.:\-]+")
_REGEX_MARKERS = ("(?", "[^", "\\w", "\\s", "\\d", "[0-9", ".*", "[a-z", "[A-Z", "{%")
_DOTTED = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+")
_NAMED_KINDS = frozenset({"password", "token", "secret", "key", "authorization"})
_MAX_DEPTH = 6
# Prefilter words of `_KEY_SINKS` and `_key_arguments` besides the secret names.
_SINK_WORDS = ("chacha", "camellia", "tripledes", "sm4", "itsdangerous", "kdf", "nacl")


@rule(
    code="CR0602",
    name="hardcoded-key",
    case=6,
    severity=Severity.HIGH,
    cwe=321,
    nodes=(ast.Module,),
    # A literal reaching one of `_KEY_SINKS` (or an itsdangerous signer, a KDF, a secret
    # setting), or bound to a secret name (`SECRET_NAMES`).
    requires=[
        ['"', "'"],
        group(SECRET_GATE, _SINK_WORDS, "private"),
        group(SECRET_NAMES, _SINK_WORDS, "signingkey", "privatekey", "private_bytes"),
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds keys and secrets that are literals in the code.

    ## What it does
    Reports a string or bytes literal that reaches a key parameter — `AESGCM(...)`,
    `Fernet(...)`, `hmac.new(key, ...)`, `jwt.encode(payload, key)`,
    `algorithms.AES(key)`, itsdangerous signers, `app.secret_key`,
    `app.config["SECRET_KEY"]`, a `SECRET_KEY` setting of a settings module or config
    class, a KDF's input — directly or through constants, helpers, parameter defaults
    and configuration fallbacks (`os.environ.get("KEY", "...")`,
    `config("SECRET_KEY", default="...")`); and a high-entropy
    literal assigned to a secret-named variable, attribute, keyword or dictionary key
    (`API_KEY = "sk_live_..."`). A placeholder such as `"changeme"` is reported when it
    is used as a key (it is then the real key), not when it is merely assigned; empty
    strings, URLs, sizes, header names and environment variable names are not secrets,
    and files named like tests (`test_*.py`, `*_test.py`, `conftest.py`) are skipped.

    ## Why is this bad?
    A key in the source is in every clone, fork, CI log, container image and backup of
    the repository, cannot be rotated without a release, is the same in every
    environment, and outlives the employees who saw it. Anyone with read access can
    forge tokens, sign webhooks and decrypt data.

    ## Example
    ```python
    AES_KEY = b"0123456789abcdef0123456789abcdef"
    aead = AESGCM(AES_KEY)
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-secret")
    token = jwt.encode(claims, SECRET_KEY, algorithm="HS256")
    ```

    ## Use instead
    Load keys at runtime into a `cryptorails.Keyring` (`Keyring.open(path, kek=...)`,
    keys wrapped by a KMS or a local KEK) and hold other secrets in `cryptorails.Secret`
    read from the environment or a secret manager, failing at start-up when they are
    missing instead of falling back to a literal.

    ## References
    - CWE-321: Use of Hard-coded Cryptographic Key
    - CWE-798: Use of Hard-coded Credentials
    - OWASP Secrets Management Cheat Sheet
    """
    name = PurePath(ctx.path).name
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return
    found: dict[int, tuple[ast.AST, str]] = {}
    for call in ctx.by_type.get(ast.Call, ()):
        assert isinstance(call, ast.Call)
        for argument, sink in _key_arguments(ctx, call):
            _record(ctx, found, argument, sink)
    for assign in ctx.by_type.get(ast.Assign, ()):
        assert isinstance(assign, ast.Assign)
        for target in assign.targets:
            config = _config_target(target)
            if config is not None:
                _record(ctx, found, assign.value, config)
    for statement in _settings_assignments(ctx):
        if statement.value is not None and not _names_a_variable(statement.value):
            _record(ctx, found, statement.value, f"the `{_target_name(statement)}` setting")
    for constant, owner in _named_literals(ctx):
        if id(constant) not in found:
            found[id(constant)] = (constant, f"hard-coded secret in `{owner}`")
    for literal, message in sorted(found.values(), key=lambda i: _position(i[0])):
        yield ctx.report(literal, message)


def _position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def _record(
    ctx: FileContext, found: dict[int, tuple[ast.AST, str]], value: ast.AST, sink: str
) -> None:
    origin = _hardcoded(ctx, value, 0, set(), fallback=False)
    if origin is None:
        return
    literal, fallback = origin
    if id(literal) in found:
        return
    if fallback:
        message = f"hard-coded fallback key for {sink}, used whenever the variable is unset"
    else:
        message = f"hard-coded key used by {sink}"
    found[id(literal)] = (literal, message)


def _key_arguments(ctx: FileContext, call: ast.Call) -> Iterator[tuple[ast.AST, str]]:
    name = ctx.call_name(call) or ""
    short = name.rsplit(".", 1)[-1]
    if name in _KEY_SINKS:
        argument = call_argument(call, *_KEY_SINKS[name])
        if argument is not None:
            label = short if short[:1].isupper() else ".".join(name.split(".")[-2:])
            yield argument, f"`{label}`"
    elif name.startswith("itsdangerous.") and short in _SIGNERS:
        argument = call_argument(call, 0, "secret_key")
        if argument is not None:
            yield argument, f"`{short}`"
    elif ".kdf." in name and name.endswith(".derive"):
        argument = call_argument(call, 0, "key_material")
        if argument is not None:
            yield argument, "a KDF"
    elif short in ("update", "from_mapping", "setdefault") and _is_config(call.func):
        for keyword in call.keywords:
            if keyword.arg and _config_key(keyword.arg):
                yield keyword.value, f"`{keyword.arg}`"


def _settings_assignments(ctx: FileContext) -> Iterator[ast.Assign | ast.AnnAssign]:
    """``SECRET_KEY = "..."`` at module or class level: Django settings, Flask config
    objects and pydantic settings classes are read by name, and the framework signs
    with it (a settings class's default is what runs when the variable is unset)."""
    for assign in (*ctx.by_type.get(ast.Assign, ()), *ctx.by_type.get(ast.AnnAssign, ())):
        if not isinstance(assign, ast.Assign | ast.AnnAssign) or assign.value is None:
            continue
        scope = ctx.scope_of.get(assign)
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(scope, ast.ClassDef) and not _settings_class(ctx, scope):
            continue
        if _target_name(assign).lower().endswith(("secret_key", "jwt_secret")):
            yield assign


def _settings_class(ctx: FileContext, cls: ast.ClassDef) -> bool:
    """`class Config`, `class ProductionConfig(Config)`, `class Settings(BaseSettings)`."""
    names = [cls.name, *(ctx.qualname(b) or "" for b in cls.bases)]
    return any(n.lower().endswith(("config", "settings", "conf")) for n in names)


def _names_a_variable(value: ast.AST) -> bool:
    """``SECRET_KEY = "AWS_SECRET_ACCESS_KEY"`` or ``"AWSSecretKey"``: the name of an
    environment variable or a configuration field, not a key."""
    if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
        return False
    text = value.value
    return bool(_ENV_NAME.fullmatch(text) or _CAMEL_NAME.fullmatch(text))


def _target_name(assign: ast.Assign | ast.AnnAssign) -> str:
    target = assign.targets[0] if isinstance(assign, ast.Assign) else assign.target
    return target.id if isinstance(target, ast.Name) else ""


def _is_config(func: ast.expr) -> bool:
    return isinstance(func, ast.Attribute) and (raw_name(func.value) or "").lower() in (
        "config",
        "settings",
    )


def _config_key(key: str) -> bool:
    """``SECRET_KEY``, ``JWT_SECRET_KEY``, ``secret_key``: a framework's signing key."""
    return key.lower().endswith("secret_key") or key.lower() in ("secret", "signing_key")


def _config_target(target: ast.expr) -> str | None:
    if isinstance(target, ast.Attribute) and target.attr == "secret_key":
        return "`secret_key` (session signing)"
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
        key = target.slice.value
        if isinstance(key, str) and _config_key(key) and _is_config_container(target.value):
            return f"`{key}`"
    return None


def _is_config_container(expr: ast.expr) -> bool:
    name = (raw_name(expr) or "").lower()
    return name in ("config", "settings", "app_config", "conf")


def _hardcoded(
    ctx: FileContext, expr: ast.AST, depth: int, seen: set[int], *, fallback: bool
) -> tuple[ast.Constant, bool] | None:
    """The literal a key expression comes from (and whether it is an env fallback)."""
    if depth > _MAX_DEPTH or id(expr) in seen:
        return None
    seen.add(id(expr))
    if isinstance(expr, ast.Constant):
        if isinstance(expr.value, str | bytes) and _usable_literal(expr.value):
            return expr, fallback
        return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult | ast.Add):
        # ``b"k" * 32`` and ``b"part" + b"part"`` are literals; ``"=" * pad`` and
        # ``prefix + secret`` are not.
        if _all_constant(ctx, expr):
            leaves = [n for n in ast.walk(expr) if isinstance(n, ast.Constant)]
            literal = next((n for n in leaves if isinstance(n.value, str | bytes)), None)
            if literal is not None:
                return _hardcoded(ctx, literal, depth + 1, seen, fallback=fallback)
        return None
    if isinstance(expr, ast.BoolOp):
        for value in expr.values:
            found = _hardcoded(ctx, value, depth + 1, seen, fallback=True)
            if found is not None:
                return found
        return None
    if isinstance(expr, ast.IfExp):
        for value in (expr.body, expr.orelse):
            found = _hardcoded(ctx, value, depth + 1, seen, fallback=fallback)
            if found is not None:
                return found
        return None
    if isinstance(expr, ast.Call):
        return _hardcoded_call(ctx, expr, depth, seen, fallback=fallback)
    if isinstance(expr, ast.Subscript):
        return _hardcoded_item(ctx, expr, depth, seen, fallback=fallback)
    if isinstance(expr, ast.Name | ast.Attribute):
        for flowed in ctx.values(expr)[:8]:
            if flowed is not expr:
                origin = _hardcoded(ctx, flowed, depth + 1, seen, fallback=fallback)
                if origin is not None:
                    return origin
    return None


def _hardcoded_call(
    ctx: FileContext, call: ast.Call, depth: int, seen: set[int], *, fallback: bool
) -> tuple[ast.Constant, bool] | None:
    name = ctx.call_name(call) or ""
    func = call.func
    default = _env_default(ctx, call)
    if default is not None:
        return _hardcoded(ctx, default, depth + 1, seen, fallback=True)
    inputs: list[ast.AST] = []
    method = func.attr if isinstance(func, ast.Attribute) else None
    if isinstance(func, ast.Attribute) and method in (
        "encode",
        "decode",
        "strip",
        "digest",
        "hexdigest",
    ):
        inputs = [func.value]
    elif name in _DECODERS or method == "derive" or _hash_constructor(name):
        inputs = list(call.args[:1])
    else:
        function = ctx.local_function(call)
        if function is not None:
            inputs = [v for v in ctx.values(call)[:8] if v is not call]
    for value in inputs:
        found = _hardcoded(ctx, value, depth + 1, seen, fallback=fallback)
        if found is not None:
            return found
    return None


def _hardcoded_item(
    ctx: FileContext, item: ast.Subscript, depth: int, seen: set[int], *, fallback: bool
) -> tuple[ast.Constant, bool] | None:
    """``KEYS["v1"]`` where ``KEYS = {"v1": b"..."}``."""
    if not isinstance(item.slice, ast.Constant):
        return None
    for container in ctx.values(item.value)[:4]:
        if isinstance(container, ast.Dict):
            for key, value in zip(container.keys, container.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == item.slice.value:
                    return _hardcoded(ctx, value, depth + 1, seen, fallback=fallback)
    return None


def _hash_constructor(name: str) -> bool:
    return name.startswith("hashlib.") and name.count(".") == 1


def _env_name(text: str) -> bool:
    """`PAYMENTS_API_KEY` names a variable; `AKIA0123456789ABCDEF` is a key id or key."""
    return bool(_ENV_NAME.fullmatch(text)) and ("_" in text or not any(c.isdigit() for c in text))


def _all_constant(ctx: FileContext, expr: ast.AST) -> bool:
    if isinstance(expr, ast.BinOp):
        return _all_constant(ctx, expr.left) and _all_constant(ctx, expr.right)
    return isinstance(expr, ast.Constant)


def _usable_literal(value: str | bytes) -> bool:
    """A literal that can act as a key: not empty and not a public key."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    if not text.strip():
        return False
    return "PUBLIC KEY" not in text and not text.startswith(("ssh-rsa", "ssh-ed25519"))


def _named_literals(ctx: FileContext) -> Iterator[tuple[ast.Constant, str]]:
    """High-entropy literals bound to secret-named variables, keywords and dict keys."""
    for node in (*ctx.by_type.get(ast.Assign, ()), *ctx.by_type.get(ast.AnnAssign, ())):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            name = raw_name(target) if isinstance(target, ast.Name | ast.Attribute) else None
            if not _secret_named(name):
                continue
            for literal in _fallbacks(ctx, value):
                if _looks_secret(literal):
                    yield literal, name or ""
    for call in ctx.by_type.get(ast.Call, ()):
        assert isinstance(call, ast.Call)
        for keyword in call.keywords:
            if _secret_named(keyword.arg) and _looks_secret(keyword.value):
                assert isinstance(keyword.value, ast.Constant)
                yield keyword.value, keyword.arg or ""
    for mapping in ctx.by_type.get(ast.Dict, ()):
        assert isinstance(mapping, ast.Dict)
        for key, value in zip(mapping.keys, mapping.values, strict=True):
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and _secret_named(key.value)
                and _looks_secret(value)
            ):
                assert isinstance(value, ast.Constant)
                yield value, key.value
    for function in (
        *ctx.by_type.get(ast.FunctionDef, ()),
        *ctx.by_type.get(ast.AsyncFunctionDef, ()),
    ):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        pairs: list[tuple[ast.arg, ast.expr | None]] = list(
            zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True)
        )
        pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
        for arg, default in pairs:
            if (
                isinstance(default, ast.Constant)
                and _secret_named(arg.arg)
                and _looks_secret(default)
            ):
                yield default, arg.arg


def _fallbacks(ctx: FileContext, value: ast.AST) -> Iterator[ast.Constant]:
    """The literals a value may be: itself, the alternatives of ``a or "..."`` and
    ``x if c else "..."``, and the default of ``os.environ.get("K", "...")``."""
    if isinstance(value, ast.Constant):
        yield value
    elif isinstance(value, ast.BoolOp):
        for inner in value.values:
            yield from _fallbacks(ctx, inner)
    elif isinstance(value, ast.IfExp):
        yield from _fallbacks(ctx, value.body)
        yield from _fallbacks(ctx, value.orelse)
    elif isinstance(value, ast.Call):
        default = _env_default(ctx, value)
        if isinstance(default, ast.Constant):
            yield default


def _env_default(ctx: FileContext, call: ast.Call) -> ast.expr | None:
    """The fallback of a configuration read: ``os.environ.get("K", "...")``,
    ``os.getenv``, or any reader called with a secret's name and a default
    (``config("SECRET_KEY", default="...")``, ``env.str("API_TOKEN", "...")``)."""
    name = ctx.call_name(call) or ""
    if name in ("os.environ.get", "os.getenv", "os.environ.setdefault"):
        return call_argument(call, 1, "default")
    first = call.args[0] if call.args else None
    if (
        isinstance(first, ast.Constant)
        and isinstance(first.value, str)
        and _ENV_NAME.fullmatch(first.value)
        and name_category(first.value) in _NAMED_KINDS
    ):
        return call_argument(call, 1, "default")
    return None


def _secret_named(name: str | None) -> bool:
    return name_category(name) in _NAMED_KINDS


def _looks_secret(value: ast.AST) -> bool:
    """A literal that looks like real key material rather than a name, URL or
    placeholder: long, no spaces, several character classes and high entropy."""
    if not isinstance(value, ast.Constant):
        return False
    raw = value.value
    if isinstance(raw, bytes):
        if b"PRIVATE KEY-----" in raw:
            return True
        return len(raw) >= 16 and len(set(raw)) > 4
    if not isinstance(raw, str):
        return False
    text = raw.strip()
    if "PRIVATE KEY-----" in text:
        return True
    if len(text) < 16 or any(c.isspace() for c in text):
        return False
    if "://" in text or text.startswith(("/", "./", "~", "PUBLIC")) or _PLACEHOLDER.search(text):
        return False
    if _env_name(text) or _DOTTED.fullmatch(text) or _WORDY.fullmatch(text):
        return False
    if any(marker in text for marker in _REGEX_MARKERS):
        return False
    classes = sum(
        (
            any(c.islower() for c in text),
            any(c.isupper() for c in text),
            any(c.isdigit() for c in text),
            any(not c.isalnum() for c in text),
        )
    )
    return classes >= 2 and _entropy(text) >= 3.0


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
