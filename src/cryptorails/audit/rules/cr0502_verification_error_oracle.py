"""CR0502: a verifier that answers differently depending on which check failed."""

from __future__ import annotations

import ast
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._leak import name_category, raw_name, words
from cryptorails.audit.rules._prefilter import SIG, VERIFY, group
from cryptorails.audit.rules._time import own_nodes

_VERIFY_CALLS = frozenset(
    {
        "hmac.compare_digest",
        "secrets.compare_digest",
        "jwt.decode",
        "jose.jwt.decode",
        "bcrypt.checkpw",
        "django.contrib.auth.hashers.check_password",
        "django.utils.crypto.constant_time_compare",
        # Computing a MAC in a function that answers failures means checking one.
        "hmac.new",
        "hmac.digest",
    }
)
_VERIFY_METHODS = frozenset(
    {"verify", "verify_signature", "decrypt", "decrypt_and_verify", "decrypt_at_time",
     "compare_digest", "checkpw", "check_password", "verify_password", "unsign",
     "finalize_with_tag", "decryptor"}
)  # fmt: skip
_VERIFY_FUNCTION_WORDS = frozenset({"verify", "decrypt", "signature", "authenticate", "unseal"})
# Exceptions only cryptographic checks raise, by name; ambiguous names (urllib3 also has
# a `DecodeError`) count only when they resolve into a crypto package.
_CRYPTO_EXCEPTIONS = frozenset(
    {
        "InvalidSignature", "BadSignature", "BadTimeSignature",
        "SignatureExpired", "BadPayload", "ExpiredSignatureError", "InvalidSignatureError",
        "InvalidTokenError", "InvalidAudienceError", "InvalidIssuerError",
        "ImmatureSignatureError", "InvalidIssuedAtError", "MissingRequiredClaimError",
        "PyJWTError", "JWTError", "JWTClaimsError", "ExpiredSignature", "BadSignatureError",
        "ExpiredTokenError",
    }
)  # fmt: skip
_AMBIGUOUS_EXCEPTIONS = frozenset(
    {"InvalidToken", "DecodeError", "BadData", "CryptoError", "InvalidKey", "InvalidTag"}
)
_CRYPTO_PACKAGES = ("jwt.", "jose.", "cryptography.", "itsdangerous.", "nacl.", "authlib.")
# cryptorails' own authentication errors: their text never varies, by contract.
_OPAQUE = frozenset({"VerificationError", "DecryptionError"})
# Prefilter words of `_verifiers` besides `verify`, `unsign` and the signature names.
_VERIFIER_WORDS = (
    *("decrypt", "compare_digest", "checkpw", "check_password", "finalize_with_tag", "hmac"),
    *("jwt", "constant_time_compare", "sealer", "signatur", "badpayload", "invalidtoken"),
    *("invalidaudience", "invalidissue", "missingrequiredclaim", "expiredtoken", "jose"),
    *("cryptography", "itsdangerous", "nacl", "authlib"),
)
_MISUSE = frozenset(
    {
        "TypeError", "NotImplementedError", "ImproperlyConfigured", "ConfigurationError",
        "AssertionError", "RuntimeError", "KeyboardInterrupt", "SystemExit", "PolicyError",
        "InvalidKeyError", "InvalidAlgorithmError", "ConnectionError", "TimeoutError",
        "OSError", "IOError", "ImportError", "AttributeError", "IndexError",
    }
)  # fmt: skip
_AUTH_CLASS_WORDS = frozenset(
    {"auth", "authentication", "unauthorized", "forbidden", "invalid", "expired", "signature",
     "token"}
)  # fmt: skip
_HTTP_CLASS = re.compile(
    r"HTTP|Http|Unauthori[sz]ed|Forbidden|BadRequest|NotFound|PermissionDenied"
    r"|AuthenticationFailed|NotAuthenticated|APIException|abort"
)
_WORD = re.compile(r"[a-z]+")
_VERIFY_CALL_NAMES = frozenset(c.rsplit(".", 1)[-1] for c in _VERIFY_CALLS)
_VERIFIERS: weakref.WeakKeyDictionary[FileContext, frozenset[ast.AST]] = weakref.WeakKeyDictionary()
_RESPONSE = re.compile(r"Response|jsonify|make_response|HttpResponse|json_response|JSONResponse")
_STATUS_NAMES = {
    "BAD_REQUEST": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "GONE": 410,
    "UNPROCESSABLE_ENTITY": 422,
    "TOO_MANY_REQUESTS": 429,
}
_RESPONSE_STATUS = {
    "HttpResponseBadRequest": 400,
    "HttpResponseForbidden": 403,
    "HttpResponseNotFound": 404,
    "HTTPUnauthorized": 401,
    "HTTPForbidden": 403,
    "HTTPBadRequest": 400,
}
_MALFORMED = re.compile(
    r"\b(missing|required|malformed|must|not provided|no \w+ header|empty"
    r"|too (long|large|big|short)|corrupt|length|size"
    r"|not an? (str|string|bytes|int|integer|dict|list|mapping)"
    r"|format|unsupported|not allowed|not supported|not configured|not specified|bad request"
    r"|algorithm|\balg\b"
    r"|invalid (header|format|json|payload|body|content|encoding|base64))\b"
)
# Words of a verification outcome. Generic ones are qualified so that business
# validation after the check ("invalid amount", "order not found", "unknown event type")
# does not count.
_VERIFY_TEXT = re.compile(
    r"(signature|\bsig\b|token|expir|\bmac\b|hmac|\btag\b|\bkid\b|key id|decrypt|password"
    r"|credential|nonce|timestamp|replay|unauthori[sz]ed|forbidden|\bauth|\blogin\b"
    r"|stale|too old|padding|tamper|integrity|verif|denied|mismatch|wrong|incorrect"
    r"|\bjwt\b|session|\botp\b|revoked|in the future|audience|issuer|\bclaims?\b"
    r"|(user|account|email|username|client|key|signer)\b.{0,20}(not found|does not exist"
    r"|inactive|disabled|locked)|no such (user|account|key)"
    r"|unknown (user|account|key|kid|client|signer|issuer))"
)


@dataclass(frozen=True)
class _Exit:
    node: ast.AST
    key: tuple[str, int, tuple[str, ...]]  # class, status, words of the texts
    texts: tuple[str, ...]
    group: str  # "http", or the exception class raised
    dynamic: str | None  # why one exit alone already answers differently per failure


@rule(
    code="CR0502",
    name="verification-error-oracle",
    case=5,
    severity=Severity.MEDIUM,
    cwe=204,
    nodes=(ast.FunctionDef, ast.AsyncFunctionDef),
    # `_verifiers`: a verifying call, a caught crypto exception (by name, or from a crypto
    # package), or a signature-named operand of ``==``; and an exit.
    requires=[
        ["raise", "return", "abort"],
        group(_VERIFIER_WORDS, "verif", "unsign", "sig", "mac"),
        group(_VERIFIER_WORDS, VERIFY, ".unsign", "unsign(", SIG, "mac"),
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds verifiers whose failures differ in message, status code or exception.

    ## What it does
    In a function that verifies something — calls `hmac.compare_digest`, `jwt.decode`,
    a `.verify()`/`.decrypt()` method or a `verify_*` helper, or catches
    `InvalidSignature`, `InvalidTag`, `BadSignature`, `jwt.ExpiredSignatureError` and
    the like — reports failure exits (`raise`, `abort`, 4xx responses) that differ from
    one another: "bad signature" vs "expired", `401` vs `403`, "unknown user" vs "wrong
    password", or an error text that includes the caught exception's message or a reason
    chosen per failure. HTTP answers are compared with each other, and raises of one
    exception class with each other; raising distinct exception *classes* is an API
    (PyJWT's own errors) and is judged where a caller answers them. Errors for missing or
    malformed input, misuse (`TypeError`), configuration checks on `self` and server
    errors (5xx) are not counted.

    ## Why is this bad?
    Each distinct answer tells the caller which check failed, and that is an oracle:
    "bad padding" vs "bad MAC" decrypts CBC ciphertexts byte by byte (Vaudenay), "unknown
    key id" vs "bad signature" maps the keyring, "expired" confirms that a forged token's
    signature was accepted, and "no such user" enumerates accounts.

    ## Example
    ```python
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        raise HTTPException(401, "token expired")
    except jwt.InvalidSignatureError:
        raise HTTPException(401, "invalid signature")
    ```

    ## Use instead
    Fail every check with the same response, e.g. one `HTTPException(401, "invalid
    token")`; log the precise cause internally. cryptorails raises one opaque
    `cryptorails.VerificationError` / `cryptorails.DecryptionError` whose text never
    varies and keeps the cause on `.reason` for internal logs.

    ## References
    - CWE-204: Observable Response Discrepancy
    - Vaudenay, "Security Flaws Induced by CBC Padding" (EUROCRYPT 2002)
    - OWASP Authentication Cheat Sheet, "Authentication and Error Messages"
    """
    if not _is_verifier(ctx, node):
        return
    caught = {h.name for h in own_nodes(ctx, node) if isinstance(h, ast.ExceptHandler) and h.name}
    exits = [e for e in _exits(ctx, node, caught) if e is not None]
    dynamic = next((e for e in exits if e.dynamic is not None), None)
    if dynamic is not None and dynamic.dynamic is not None:
        yield ctx.report(dynamic.node, dynamic.dynamic)
        return
    # Exits are compared within one kind of answer: HTTP answers (statuses, responses,
    # `abort`, HTTP exception classes) with each other, and raises of one exception class
    # with each other. Distinct exception *classes* are an API (PyJWT's
    # ExpiredSignatureError vs InvalidSignatureError); the oracle is in how a caller
    # answers them, which is reported there.
    firsts: dict[str, _Exit] = {}
    for other in exits:
        first = firsts.setdefault(other.group, other)
        if other.key != first.key:
            yield ctx.report(
                other.node,
                f"verification failures answer differently ({_versus(first, other)}): the "
                "response tells an attacker which check failed",
            )
            return


def _versus(a: _Exit, b: _Exit) -> str:
    """What tells the two exits apart, for the message."""
    (cls_a, status_a, _), (cls_b, status_b, _) = a.key, b.key
    texts_a, texts_b = a.texts, b.texts
    only_a = [t for t in texts_a if t not in texts_b]
    only_b = [t for t in texts_b if t not in texts_a]
    if only_a or only_b:
        return f"{_quote(only_a)} vs {_quote(only_b)}"
    if status_a != status_b:
        return f"{status_a or 'no status'} vs {status_b or 'no status'}"
    return f"{cls_a or 'return'} vs {cls_b or 'return'}"


def _quote(texts: list[str]) -> str:
    return repr(texts[0][:40]) if texts else "no message"


def _is_verifier(ctx: FileContext, function: ast.AST) -> bool:
    """Whether `function` verifies: it calls a verification primitive, catches a crypto
    exception, compares a MAC by hand, or calls a helper of this module that verifies
    and is named so."""
    return function in _verifiers(ctx)


def _verifiers(ctx: FileContext) -> frozenset[ast.AST]:
    """The functions of the module with direct evidence of verifying, found in one pass
    over its calls, handlers and comparisons (cached per file)."""
    cached = _VERIFIERS.get(ctx)
    if cached is not None:
        return cached
    found: set[ast.AST] = set()
    for call in ctx.by_type.get(ast.Call, ()):
        assert isinstance(call, ast.Call)
        last = _last(call.func)
        if (
            last in _VERIFY_METHODS
            or (last in _VERIFY_CALL_NAMES and (ctx.call_name(call) or "") in _VERIFY_CALLS)
            or (last == "open" and "Sealer.open" in (ctx.call_name(call) or ""))
        ):
            _add(ctx, found, call)
    for handler in ctx.by_type.get(ast.ExceptHandler, ()):
        assert isinstance(handler, ast.ExceptHandler)
        if _catches_crypto(ctx, handler):
            _add(ctx, found, handler)
    for compare in ctx.by_type.get(ast.Compare, ()):
        assert isinstance(compare, ast.Compare)
        # `if mac != expected_mac:` — checking a MAC by hand (CR0501 reports the compare).
        operands = (compare.left, *compare.comparators)
        if (
            any(isinstance(op, ast.Eq | ast.NotEq) for op in compare.ops)
            and all(not isinstance(o, ast.Constant) for o in operands)
            and any(name_category(raw_name(o)) == "signature" for o in operands)
        ):
            _add(ctx, found, compare)
    # One level up: a function calling this module's `verify_signature(...)` helper.
    for call in ctx.by_type.get(ast.Call, ()):
        assert isinstance(call, ast.Call)
        if set(words(_last(call.func))) & _VERIFY_FUNCTION_WORDS:
            local = ctx.local_function(call)
            if local is not None and local in found:
                _add(ctx, found, call)
    result = frozenset(found)
    _VERIFIERS[ctx] = result
    return result


def _add(ctx: FileContext, found: set[ast.AST], node: ast.AST) -> None:
    function = ctx.enclosing_function(node)
    if function is not None:
        found.add(function)


def _catches_crypto(ctx: FileContext, handler: ast.ExceptHandler) -> bool:
    types = handler.type
    if types is None:
        return False
    elements = types.elts if isinstance(types, ast.Tuple) else [types]
    for element in elements:
        name = _last(element)
        if name in _CRYPTO_EXCEPTIONS:
            return True
        if name in _AMBIGUOUS_EXCEPTIONS and (ctx.qualname(element) or "").startswith(
            _CRYPTO_PACKAGES
        ):
            return True
    return False


def _last(expr: ast.AST) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Call):
        return _last(expr.func)
    return ""


def _exits(ctx: FileContext, function: ast.AST, caught: set[str]) -> Iterator[_Exit | None]:
    for node in own_nodes(ctx, function):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc
            if isinstance(exc, ast.Name) and exc.id in caught:
                continue  # re-raising what was caught
            if isinstance(exc, ast.Name):
                # `raise credentials_exception`, built once as `HTTPException(401, "...")`.
                built = [v for v in ctx.values(exc) if isinstance(v, ast.Call)]
                if len(built) == 1:
                    exc = built[0]
            yield _exit(ctx, node, exc, _last(exc), caught)
        elif isinstance(node, ast.Return) and node.value is not None:
            yield _return_exit(ctx, node, caught)
        elif isinstance(node, ast.Call) and _last(node.func) == "abort":
            parent = ctx.parent(node)
            if not isinstance(parent, ast.Raise | ast.Return):
                yield _exit(ctx, node, node, "abort", caught)


def _return_exit(ctx: FileContext, node: ast.Return, caught: set[str]) -> _Exit | None:
    value = node.value
    assert value is not None
    if isinstance(value, ast.Constant) and _status(value) is None:
        return None
    if isinstance(value, ast.Tuple) and not any(_status(e) is not None for e in value.elts):
        return None
    if isinstance(value, ast.Call):
        name = _last(value.func)
        if not (_RESPONSE.search(name) or name == "abort"):
            return None
        return _exit(ctx, node, value, name, caught)
    if isinstance(value, ast.Constant | ast.Tuple):
        return _exit(ctx, node, value, "", caught)
    return None


def _exit(
    ctx: FileContext, node: ast.AST, payload: ast.AST, cls: str, caught: set[str]
) -> _Exit | None:
    if cls in _MISUSE or cls in _OPAQUE:
        return None
    status = _RESPONSE_STATUS.get(cls)
    texts: list[str] = []
    dynamic = varying = False
    for part in _parts(payload):
        code = _status(part)
        if code is not None and status is None:
            status = code
            continue
        chosen = _chosen_texts(ctx, part)
        if len(chosen) > 1:
            # `detail=reason` where `reason` is "expired" on one path, "bad signature" on
            # another: one exit, several answers.
            texts.extend(sorted(chosen))
            varying = True
            continue
        for inner in ast.walk(part):
            if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                if inner.value.strip():
                    texts.append(inner.value.strip().lower())
            elif isinstance(inner, ast.Name) and inner.id in caught and _as_text(ctx, inner):
                dynamic = True
    if status is not None and status >= 500:
        return None
    text = " ".join(texts)
    if text and _MALFORMED.search(text):
        return None
    in_handler = _handler(ctx, node)
    if _missing_input_guard(ctx, node):
        return None
    # An exit counts when it answers a failed check: it handles a crypto exception, its
    # text names a verification outcome, or (without text) its status or class does.
    relevant = (
        (in_handler is not None and _catches_crypto(ctx, in_handler))
        or bool(text and _VERIFY_TEXT.search(text))
        or (not text and (status in (401, 403) or bool(set(words(cls)) & _AUTH_CLASS_WORDS)))
    )
    if _configuration_guard(ctx, node):
        return None
    why: str | None = None
    if dynamic and in_handler is not None and _verification_handler(ctx, in_handler):
        why = (
            "the error text includes the caught exception's message, which says which check failed"
        )
    elif varying:
        why = "one error text per failed check is chosen for this response: it says which failed"
    if not relevant and why is None:
        return None
    # Texts are compared by their words: `f"age {age} > {max_age}"` and `f"age {age} < 0"`
    # say the same thing; "token expired" and "token invalid" do not.
    key = (cls, status or 0, tuple(sorted({w for t in texts for w in _WORD.findall(t)})))
    http = status is not None or not isinstance(node, ast.Raise) or _HTTP_CLASS.search(cls)
    return _Exit(node, key, tuple(texts), "http" if http else cls, why)


def _configuration_guard(ctx: FileContext, node: ast.AST) -> bool:
    """Whether the nearest `if` around `node` tests only the object's own configuration
    (``if self.key_type is PUBLIC: raise ...``), which no caller can influence."""
    child = node
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, ast.FunctionDef | ast.AsyncFunctionDef | ast.ExceptHandler):
            return False
        if isinstance(ancestor, ast.If) and child in ancestor.body:
            names = [n.id for n in ast.walk(ancestor.test) if isinstance(n, ast.Name)]
            # `self`, plus constants and classes (`KeyType.PUBLIC`): nothing from a caller.
            return "self" in names and all(
                n in ("self", "cls") or n in ctx.imports or n[:1].isupper() for n in names
            )
        child = ancestor
    return False


def _verification_handler(ctx: FileContext, handler: ast.ExceptHandler) -> bool:
    """A handler for a failed verification: it catches a crypto exception, or catches
    everything around a verification call."""
    if _catches_crypto(ctx, handler):
        return True
    broad = handler.type is None or _last(handler.type) in ("Exception", "BaseException")
    try_node = ctx.parent(handler)
    if not broad or not isinstance(try_node, ast.Try):
        return False
    return any(
        isinstance(n, ast.Call)
        and (_last(n.func) in _VERIFY_METHODS or (ctx.call_name(n) or "") in _VERIFY_CALLS)
        for statement in try_node.body
        for n in ast.walk(statement)
    )


def _chosen_texts(ctx: FileContext, part: ast.AST) -> set[str]:
    """The different constant texts a name passed as the message may hold."""
    if not isinstance(part, ast.Name):
        return set()
    values = ctx.values(part)
    texts = {v.value.strip().lower() for v in values if isinstance(v, ast.Constant)
             and isinstance(v.value, str) and v.value.strip()}  # fmt: skip
    return texts if len(texts) == len(values) else set()


def _as_text(ctx: FileContext, name: ast.Name) -> bool:
    """Whether a caught exception is used for its message (``str(e)``, ``f"{e}"``,
    ``e.args``, or passed as is), not for an attribute such as ``e.reason``."""
    parent = ctx.parent(name)
    if isinstance(parent, ast.Attribute):
        return parent.attr in ("args", "message", "msg", "detail", "description")
    return True


def _parts(payload: ast.AST) -> list[ast.AST]:
    if isinstance(payload, ast.Call):
        return [*payload.args, *(k.value for k in payload.keywords if k.arg != "headers")]
    if isinstance(payload, ast.Tuple):
        return list(payload.elts)
    return [payload]


def _status(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int and 400 <= node.value < 600:
        return node.value
    if isinstance(node, ast.Attribute):
        match = re.fullmatch(r"HTTP_(\d{3})(_\w+)?", node.attr)
        if match is not None:
            return int(match[1])
        return _STATUS_NAMES.get(node.attr)
    return None


def _handler(ctx: FileContext, node: ast.AST) -> ast.ExceptHandler | None:
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, ast.ExceptHandler):
            return ancestor
        if isinstance(ancestor, ast.FunctionDef | ast.AsyncFunctionDef):
            return None
    return None


def _missing_input_guard(ctx: FileContext, node: ast.AST) -> bool:
    """Whether the nearest `if` around `node` only tests that an input is present."""
    child = node
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, ast.FunctionDef | ast.AsyncFunctionDef | ast.ExceptHandler):
            return False
        if isinstance(ancestor, ast.If) and child in ancestor.body:
            return _is_presence_test(ctx, ancestor.test)
        child = ancestor
    return False


def _is_presence_test(ctx: FileContext, test: ast.expr) -> bool:
    if isinstance(test, ast.BoolOp):
        return all(_is_presence_test(ctx, v) for v in test.values)
    subject: ast.expr | None = None
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        subject = test.operand
    elif isinstance(test, ast.Compare) and len(test.ops) == 1:
        op, right = test.ops[0], test.comparators[0]
        if isinstance(op, ast.Is | ast.Eq) and isinstance(right, ast.Constant):
            if right.value is None or right.value == "":
                subject = test.left
        elif isinstance(op, ast.NotIn) and isinstance(test.left, ast.Constant):
            return True
    if subject is None:
        return False
    # Input read as is (a parameter, a header, a form field) may be reported missing; a
    # lookup (`keys.get(kid)`, `User.objects.filter(...).first()`) or a verification
    # result (`valid = hmac.compare_digest(...)`) may not.
    for value in ctx.values(subject):
        if isinstance(value, ast.Constant):
            continue
        if isinstance(value, ast.Name) and ctx.parameter_of(value) is not None:
            continue
        if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Constant):
            continue
        if isinstance(value, ast.Attribute) and not isinstance(value.value, ast.Call):
            continue
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr in ("get", "getlist", "getheader")
            and value.args
            and isinstance(value.args[0], ast.Constant)
        ):
            continue
        return False
    return True
