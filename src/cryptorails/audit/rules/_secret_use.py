"""Where a value ends up: followed forward from an expression to the names, arguments,
fields and return values it becomes (CR0104).

The engine's data flow runs backwards (what does this expression come from?); judging a
random draw by its use needs the other direction. `Uses.follow` climbs from an expression
through the operators and transformations that carry its value (concatenation,
formatting, ``"".join``, ``.hex()``, hashing, encoding), then into the variable it is
assigned to (and that variable's reads in the same scope), the function's return value
(and the helper's call sites), a list it is appended to, a dict field, or a call argument.
It stops at anything that consumes the value without passing it on: a comparison, a
length (``range(n)``), ``time.sleep``, an index into a collection.
"""

from __future__ import annotations

import ast
import re
import weakref
from collections import defaultdict
from dataclasses import dataclass

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import call_argument, identifier, nonce_argument

__all__ = ["Draw", "Uses", "reads", "reads_in", "secret_role"]

_AEAD = "cryptography.hazmat.primitives.ciphers.aead."
_KDF = "cryptography.hazmat.primitives.kdf."
# qualified callee -> (position, keyword, role) of a secret input.
SECRET_ARGUMENTS: dict[str, tuple[int | None, str | None, str]] = {
    **{
        f"{_AEAD}{c}": (0, "key", "a key")
        for c in ("AESGCM", "ChaCha20Poly1305", "AESCCM", "AESOCB3", "AESGCMSIV", "AESSIV")
    },
    **{
        f"cryptography.hazmat.primitives.ciphers.algorithms.{c}": (0, "key", "a key")
        for c in ("AES", "AES128", "AES256", "ChaCha20", "Camellia", "TripleDES", "SM4")
    },
    "cryptography.fernet.Fernet": (0, "key", "a key"),
    "cryptography.hazmat.primitives.hmac.HMAC": (0, "key", "a key"),
    "hmac.new": (0, "key", "a key"),
    "hmac.HMAC": (0, "key", "a key"),
    "hmac.digest": (0, "key", "a key"),
    "jwt.encode": (1, "key", "a key"),
    "jose.jwt.encode": (1, "key", "a key"),
    "Crypto.Cipher.AES.new": (0, "key", "a key"),
    "Cryptodome.Cipher.AES.new": (0, "key", "a key"),
    "nacl.secret.SecretBox": (0, "key", "a key"),
    "hashlib.pbkdf2_hmac": (2, "salt", "a salt"),
    "hashlib.scrypt": (None, "salt", "a salt"),
    "bcrypt.hashpw": (1, "salt", "a salt"),
    f"{_KDF}pbkdf2.PBKDF2HMAC": (2, "salt", "a salt"),
    f"{_KDF}scrypt.Scrypt": (0, "salt", "a salt"),
    f"{_KDF}hkdf.HKDF": (2, "salt", "a salt"),
    f"{_KDF}argon2.Argon2id": (None, "salt", "a salt"),
}
_CRYPTO_CALLEE = ("crypt", "fernet", "hmac", "cipher", "aes", "jwt", "jose", "nacl", "sign")

_SESSION = re.compile(r"(^|_)(session_?id|sid|session_key)$")
_NOT_SECRET = re.compile(
    r"_(size|len|length|bits|count|counts|index|idx|url|uri|path|file|filename|name|names"
    r"|type|kind|header|field|param|env|var|prefix|format|ttl|timeout|expiry|expires|delay"
    r"|interval|limit|min|max|id|ids|seed|attempts|retries|label|rounds|iterations|cost"
    r"|version|strength|weight|score|ratio|rate|percent|probability|chance|jitter|offset"
    r"|position|number|num)$"
)
_STRONG = re.compile(
    r"(^|_)(secret|secrets|password|passwords|passwd|pwd|pw|passphrase|passcode|salt"
    r"|nonce|nonces|iv|otp|totp|hotp|csrf|xsrf|apikey|credential|credentials|bearer"
    r"|sessionid)($|_)"
    r"|(^|_)(api|access|secret|private|signing|hmac|mac|aes|enc|encryption|master|session"
    r"|auth|refresh|reset|verify|verification|activation|confirm|confirmation|recovery"
    r"|invite|invitation|magic|login|otp|sms|email|pin|security|mfa|twofa|csrf|bearer"
    r"|jwt|fernet|wrapping|data|bearer|unsubscribe|download|share|one_time|temp|temporary"
    r"|initial|new|random|raw|plain)_(key|token|code|pin|secret)s?($|_)"
    r"|(^|_)(oauth|csrf|auth|login)_state($|_)"
)
_WEAK = re.compile(r"(^|_)(token|tokens|key|keys|code|codes|pin)($|_)")
_NUMERIC_OK = re.compile(r"(^|_)(code|codes|pin)($|_)")
_NOT_SECRET_KEY = re.compile(
    r"(^|_)(cache|sort|shard|partition|primary|foreign|dict|redis|lookup|idempotency"
    r"|object|bucket|map|hash|row|routing|group|dedup|dedupe|lock|metric|feature|config"
    r"|setting|registry|index|kv|s3|storage|request|job|task|queue|event|trace|span"
    r"|correlation|status|error|exit|country|language|lang|zip|postal|area|http|response"
    r"|color|colour|product|promo|coupon|discount|sku|item|room|game|ref|reference)_"
)
_TRANSFORMS = frozenset(
    {
        "bytes",
        "bytearray",
        "str",
        "hex",
        "format",
        "int",
        "abs",
        "list",
        "tuple",
        "map",
        "sorted",
        "reversed",
        "struct.pack",
        "uuid.UUID",
        "binascii.hexlify",
        "binascii.b2a_hex",
    }
)
_MATERIAL_CALLS = ("bytes", "bytearray", "hex", "struct.pack", "uuid.UUID", "binascii.")
_TEXT_METHODS = frozenset(
    {"encode", "decode", "upper", "lower", "zfill", "rjust", "ljust", "strip", "format"}
)
_MATERIAL_METHODS = frozenset({"hex", "to_bytes", "tobytes", "tostring", "digest", "hexdigest"})
_COLLECT_METHODS = frozenset({"append", "extend", "insert", "add"})
_DEFAULT_KEYWORDS = frozenset({"default", "default_factory", "server_default", "onupdate"})
_MAX_HOPS = 4
_MAX_STEPS = 400


@dataclass(frozen=True)
class Draw:
    """What kind of value a random call gives, as far as secrecy is concerned.

    `material`: bytes, bits, or characters of an alphabet — the stuff keys and tokens are
    made of. `digits`: an integer of at least four digits (a numeric code or PIN).
    `pick`: one element of some collection (a server, a word, a cache key) — not secret
    material by itself, only once several picks are composed. `small`: an integer below
    1000 (a dice roll, a guessing game's "secret number"), never a secret.
    """

    material: bool = False
    digits: bool = False
    pick: bool = False
    small: bool = False


def secret_role(name: str | None, draw: Draw) -> bool:
    """Whether a value of kind `draw` stored under `name` is a secret."""
    if not name or draw.small:
        return False
    if _SESSION.search(name):
        return not draw.pick
    if _NOT_SECRET.search(name):
        return False
    if _STRONG.search(name):
        return not draw.pick
    if _WEAK.search(name) is None or _NOT_SECRET_KEY.search(name):
        return False
    return draw.material or (draw.digits and _NUMERIC_OK.search(name) is not None)


class Uses:
    """Follows values forward in one file (see the module docstring)."""

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self._steps = 0
        self._seen: set[int] = set()

    def follow(self, node: ast.AST, draw: Draw, hops: int = 0) -> str | None:
        """Where the value of `node` becomes a secret: a description, or None."""
        ctx = self.ctx
        child = node
        parent = ctx.parent(child)
        while parent is not None:
            self._steps += 1
            if self._steps > _MAX_STEPS or id(child) in self._seen:
                return None
            self._seen.add(id(child))
            step = self._step(parent, child, draw, hops)
            if isinstance(step, str) or step is None:
                return step
            child, draw = step
            parent = ctx.parent(child)
        return None

    def _step(
        self, parent: ast.AST, child: ast.AST, draw: Draw, hops: int
    ) -> str | tuple[ast.AST, Draw] | None:
        """One move up: a description (found), None (stop), or the next (child, draw)."""
        if isinstance(parent, ast.BinOp | ast.UnaryOp | ast.JoinedStr | ast.FormattedValue):
            return parent, draw
        if isinstance(parent, ast.List | ast.Tuple | ast.Set | ast.Starred | ast.Await):
            return parent, draw
        if isinstance(parent, ast.IfExp | ast.BoolOp | ast.NamedExpr):
            if isinstance(parent, ast.IfExp) and child is parent.test:
                return None
            if isinstance(parent, ast.NamedExpr):
                found = self._into_target(parent.target, draw, hops)
                if found:
                    return found
            return parent, draw
        if isinstance(parent, ast.Subscript):
            if child is parent.slice:
                return None  # an index picks from a collection; see `Draw.pick`
            return parent, draw
        if isinstance(parent, ast.GeneratorExp | ast.ListComp | ast.SetComp):
            if child is parent.elt:
                return parent, _composed(draw)
            return None
        if isinstance(parent, ast.Attribute):
            return self._method(parent, draw)
        if isinstance(parent, ast.keyword):
            return self._keyword(parent, draw, hops)
        if isinstance(parent, ast.Call):
            return self._argument(parent, child, draw, hops)
        if isinstance(parent, ast.Dict):
            return self._dict_value(parent, child, draw)
        if isinstance(parent, ast.Lambda):
            holder = self.ctx.parent(parent)
            if isinstance(holder, ast.keyword) and holder.arg in _DEFAULT_KEYWORDS:
                return parent, draw
            return None
        if isinstance(parent, ast.Return):
            return self._returned(parent, draw, hops)
        if isinstance(parent, ast.Assign | ast.AnnAssign | ast.AugAssign):
            if child is not parent.value:
                return None
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            for target in targets:
                found = self._into_target(target, draw, hops)
                if found:
                    return found
            return None
        return None

    def _method(self, attribute: ast.Attribute, draw: Draw) -> tuple[ast.AST, Draw] | None:
        call = self.ctx.parent(attribute)
        if not (isinstance(call, ast.Call) and call.func is attribute):
            # uuid.UUID(int=...).hex and similar views of the same value
            return (attribute, draw) if attribute.attr in ("hex", "bytes", "urn") else None
        if attribute.attr in _MATERIAL_METHODS:
            return call, Draw(material=not draw.pick, digits=draw.digits, pick=draw.pick)
        if attribute.attr in _TEXT_METHODS:
            return call, draw
        return None

    def _keyword(
        self, keyword: ast.keyword, draw: Draw, hops: int
    ) -> str | tuple[ast.AST, Draw] | None:
        call = self.ctx.parent(keyword)
        if not isinstance(call, ast.Call):
            return None
        role = _crypto_role(self.ctx, call, keyword.value)
        if role:
            return role
        name = (keyword.arg or "").lower()
        if name in ("key", "keys"):
            callee = (self.ctx.call_name(call) or "").lower()
            if any(w in callee for w in _CRYPTO_CALLEE) and not draw.pick:
                return "the `key=` argument"
            return None
        if secret_role(name, draw):
            return f"the `{keyword.arg}=` argument"
        if keyword.arg in _DEFAULT_KEYWORDS:
            return call, draw  # a column/field default: judged by the field's name
        if (self.ctx.call_name(call) or "") in _TRANSFORMS:
            return call, Draw(material=not draw.pick, digits=draw.digits, pick=draw.pick)
        return self._into_local(call, keyword.arg, None, draw, hops)

    def _argument(
        self, call: ast.Call, child: ast.AST, draw: Draw, hops: int
    ) -> str | tuple[ast.AST, Draw] | None:
        ctx = self.ctx
        if child is call.func:
            return None
        role = _crypto_role(ctx, call, child)
        if role:
            return role
        callee = ctx.call_name(call) or ""
        func = call.func
        if isinstance(func, ast.Attribute):
            setter = func.attr.lower()
            if setter.startswith("set_") and secret_role(setter[4:], draw):
                return f"the argument of {func.attr}()"
            if func.attr == "join":
                return call, _composed(draw)
            if func.attr in _COLLECT_METHODS:
                found = self._into_target(func.value, _composed(draw), hops)
                return found
        if callee in _TRANSFORMS or callee.startswith(("base64.", "binascii.", "hashlib.")):
            material = callee.startswith(_MATERIAL_CALLS) or callee.startswith(
                ("base64.", "hashlib.")
            )
            if material and not draw.pick:
                return call, Draw(material=True, digits=draw.digits)
            return call, draw
        position = next((i for i, a in enumerate(call.args) if a is child), None)
        if position is not None:
            return self._into_local(call, None, position, draw, hops)
        return None

    def _dict_value(self, node: ast.Dict, child: ast.AST, draw: Draw) -> str | None:
        for key, value in zip(node.keys, node.values, strict=True):
            if value is child and isinstance(key, ast.Constant) and isinstance(key.value, str):
                name = identifier(ast.Subscript(value=node, slice=key))
                if secret_role(name, draw):
                    return f'the "{key.value}" field'
        return None

    def _returned(self, ret: ast.Return, draw: Draw, hops: int) -> str | None:
        function = self.ctx.enclosing_function(ret)
        if function is None:
            return None
        name = identifier(ast.Name(id=function.name))
        if name and secret_role(name.lstrip("_"), draw):
            return f"the return value of {function.name}()"
        if hops >= _MAX_HOPS or (name and _NOT_SECRET.search(name)):
            return None
        for call in _calls_of(self.ctx, function):
            found = self.follow(call, draw, hops + 1)
            if found:
                return found
        return None

    def _into_target(self, target: ast.AST, draw: Draw, hops: int) -> str | None:
        name = identifier(target)
        if isinstance(target, ast.Subscript) and not isinstance(target.slice, ast.Constant):
            name = None
        if secret_role(name, draw):
            shown = ast.unparse(target)
            return f"`{shown}`"
        if name and _NOT_SECRET.search(name):
            return None  # named for another role (`key_id`, `retry_count`): settled
        if isinstance(target, ast.Name) and hops < _MAX_HOPS:
            for use in reads(self.ctx, target):
                found = self.follow(use, draw, hops + 1)
                if found:
                    return found
        return None

    def _into_local(
        self, call: ast.Call, keyword: str | None, position: int | None, draw: Draw, hops: int
    ) -> str | None:
        """Into a parameter of a helper defined in this module."""
        function = self.ctx.local_function(call)
        if function is None or hops >= _MAX_HOPS:
            return None
        params = [*function.args.posonlyargs, *function.args.args]
        if isinstance(call.func, ast.Attribute) and params and params[0].arg in ("self", "cls"):
            params = params[1:]
        arg: ast.arg | None = None
        if keyword is not None:
            arg = next((a for a in [*params, *function.args.kwonlyargs] if a.arg == keyword), None)
        elif position is not None and position < len(params):
            arg = params[position]
        if arg is None:
            return None
        if secret_role(identifier(arg), draw):
            return f"the `{arg.arg}` parameter of {function.name}()"
        for use in reads_in(self.ctx, function, arg.arg):
            found = self.follow(use, draw, hops + 1)
            if found:
                return found
        return None


def _composed(draw: Draw) -> Draw:
    """Several draws put together: picks and small numbers become material (a
    passphrase of words, a code of digits)."""
    if draw.pick or draw.small:
        return Draw(material=True, digits=draw.digits or draw.small)
    return draw


def _crypto_role(ctx: FileContext, call: ast.Call, child: ast.AST) -> str | None:
    callee = ctx.call_name(call)
    if callee is None:
        return None
    if nonce_argument(call, callee) is child:
        return "a nonce"
    spec = SECRET_ARGUMENTS.get(callee)
    if spec is not None and call_argument(call, spec[0], spec[1]) is child:
        return f"{spec[2]} of {callee.rsplit('.', 1)[-1]}"
    return None


_READS: weakref.WeakKeyDictionary[FileContext, dict[tuple[int, str], list[ast.Name]]] = (
    weakref.WeakKeyDictionary()
)


def _index(ctx: FileContext) -> dict[tuple[int, str], list[ast.Name]]:
    index = _READS.get(ctx)
    if index is None:
        index = defaultdict(list)
        for node in ctx.by_type.get(ast.Name, ()):
            assert isinstance(node, ast.Name)
            if isinstance(node.ctx, ast.Load):
                index[(id(ctx.scope_of.get(node)), node.id)].append(node)
        _READS[ctx] = index
    return index


def reads(ctx: FileContext, target: ast.Name) -> list[ast.Name]:
    """Reads of the variable `target` assigns, in the scope it is assigned in."""
    scope = ctx.scope_of.get(target)
    return _index(ctx).get((id(scope), target.id), [])


def reads_in(ctx: FileContext, function: ast.AST, name: str) -> list[ast.Name]:
    return _index(ctx).get((id(function), name), [])


def _calls_of(ctx: FileContext, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Call]:
    calls = [*ctx.calls_by_name.get(function.name, []), *ctx.calls_by_attr.get(function.name, [])]
    return [c for c in calls if ctx.local_function(c) is function]
