"""CR0601: secrets, tokens or decrypted plaintext written to logs, output or errors."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._leak import (
    DECRYPT_METHODS,
    KEY_GENERATORS,
    TOKEN_GENERATORS,
    is_hash_name,
    is_mac_call,
    lexer_token,
    name_category,
    names_non_secret,
    raw_name,
    secret_literal_category,
    words,
)
from cryptorails.audit.rules._prefilter import SECRET_GATE, SECRET_NAMES, group

_LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg"}
)
# The last names of `_PRINTS`, `_WARNINGS` and `_LOG_METHODS`.
_SINK_ATTRIBUTES = _LOG_METHODS | {"pprint", "write", "warn", "capture_message"}
_LOG_IGNORED_KEYWORDS = frozenset({"exc_info", "stack_info", "stacklevel"})
_PRINTS = frozenset({"print", "pprint.pprint", "sys.stdout.write", "sys.stderr.write"})
_WARNINGS = frozenset({"warnings.warn", "sentry_sdk.capture_message"})
# Secret kinds worth reporting by name alone. `signature` and `digest` are not: a
# received signature is public, and hashes are what one logs instead of secrets.
_LEAK_KINDS = {
    "password": "a password",
    "token": "a token",
    "secret": "a secret",
    "key": "key material",
    "authorization": "an Authorization header",
    "cookie": "a cookie",
    "plaintext": "decrypted plaintext",
}
_SANITIZER_WORDS = frozenset(
    {
        "len", "bool", "type", "id", "isinstance", "hasattr", "callable", "mask", "masked",
        "redact", "redacted", "obfuscate", "censor", "anonymize", "fingerprint", "hash",
        "digest", "sha256", "sha1", "md5", "keys", "count", "hexdigest_prefix", "truncate",
    }
)  # fmt: skip
_PROPAGATING_CALLS = frozenset(
    {"str", "repr", "bytes", "dict", "list", "tuple", "format", "json.dumps", "pprint.pformat"}
)
# Methods whose result carries the receiver's content.
_VALUE_METHODS = frozenset(
    {"decode", "encode", "hex", "strip", "rstrip", "lstrip", "lower", "upper", "items",
     "values", "copy", "to_dict", "dict", "split", "splitlines", "tobytes", "reveal"}
)  # fmt: skip
_HEADER_BAGS = frozenset({"headers", "cookies", "META"})
_NAME_TABLES = frozenset({"mapping", "names", "fields", "map", "columns", "labels", "aliases"})
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_MASK_PREFIX = 8  # characters of a token that may be shown (see the Use instead section)
_MASK_SUFFIX = 4
_MAX_DEPTH = 5
# Prefilter words (see `requires`) besides the secret names.
_LEAKS = (
    *("cookie", "cleartext", "decrypt", "unseal", "sealer", "oauth", "urandom"),
    *("generate_key", "generate_private_key", "private_bytes"),
)
_HEADER_BAG_READS = tuple(
    f"{request}.{bag}" for request in ("request", "req") for bag in ("headers", "cookies", "meta")
)


@rule(
    code="CR0601",
    name="secret-in-log",
    case=6,
    severity=Severity.HIGH,
    cwe=532,
    nodes=(ast.Call, ast.Raise),
    # A sink (`_sink`, a raise) and something `_leak` reports: a secret name
    # (`SECRET_NAMES`, cookies, plaintext), a request's header bag, a decryption, a MAC, a
    # new key or token, an OAuth token response.
    requires=[
        ["raise", "log", "warn", "print", ".write", "audit", "capture_message"],
        group(SECRET_GATE, _LEAKS, "plain", "headers", "meta", "private_bytes"),
        group(SECRET_NAMES, _LEAKS, "plaintext", "plain_text", "plain-text", _HEADER_BAG_READS),
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds secrets, tokens, keys and decrypted data sent to logs, stdout or errors.

    ## What it does
    Follows the arguments of `logging`/logger calls (the message, `%s` arguments,
    structlog keyword fields and `extra=`), `print`, `warnings.warn` and the message of a
    raised exception back through local variables, parameters and helpers, and reports
    those that carry a password, token, secret or key, an `Authorization` or `Cookie`
    header (or all request headers), the result of `decrypt()`/`Sealer.open()`, or a
    freshly generated key or token — including inside f-strings, `%`/`.format`, `str()`
    and `repr()`. Key ids, fingerprints, hashes, lengths, token types and masked values
    are not reported; a prefix of up to 8 or a suffix of up to 4 characters
    (`token[:8]`) counts as masked. A parser's `token` is text, not a credential.
    `cryptorails.Secret` values print as redacted and are not reported; `print` in
    command-line entry points (`main`, click/typer commands, the `__main__` block) is
    output for the operator, not a log, and is not reported.

    ## Why is this bad?
    Logs are copied to log aggregators, support tickets, backups and third parties, kept
    for months and read by far more people than the secrets they contain. A logged
    bearer token or API key is a working credential for anyone with log access; a logged
    plaintext undoes the encryption; an exception message ends up in error trackers and
    sometimes in HTTP responses.

    ## Example
    ```python
    token = request.headers["Authorization"]
    logger.info("auth attempt with %s", token)
    raise ValueError(f"bad token {token}")
    ```

    ## Use instead
    Hold secrets in `cryptorails.Secret` (its `repr`/`str` are redacted and it never
    pickles), log a fingerprint or key id instead of the value, and install the
    `cryptorails.redact` logging filter (`cryptorails.redact.install()`) or the structlog
    processor as a safety net.

    ## References
    - CWE-532: Insertion of Sensitive Information into Log File
    - CWE-209: Generation of Error Message Containing Sensitive Information
    - OWASP Logging Cheat Sheet, "Data to exclude"
    """
    if isinstance(node, ast.Raise):
        exc = node.exc
        if isinstance(exc, ast.Call):
            found = _first_leak(ctx, [*exc.args, *(k.value for k in exc.keywords)])
            if found is not None:
                yield ctx.report(node, f"{found} goes into an exception message")
        return
    assert isinstance(node, ast.Call)
    sink = _sink(ctx, node)
    if sink is None:
        return
    arguments: list[ast.AST] = list(node.args)
    for keyword in node.keywords:
        if keyword.arg in _LOG_IGNORED_KEYWORDS or keyword.arg in ("file", "end", "sep"):
            continue
        if (
            keyword.arg is not None
            and sink == "a log"
            and _named_secret(keyword.arg)
            and not _harmless_value(ctx, keyword.value)
        ):
            kind = _LEAK_KINDS[name_category(keyword.arg) or "secret"]
            yield ctx.report(node, f"{kind} (field `{keyword.arg}`) reaches {sink}")
            return
        arguments.append(keyword.value)
    found = _first_leak(ctx, arguments)
    if found is not None:
        yield ctx.report(node, f"{found} reaches {sink}")


def _sink(ctx: FileContext, call: ast.Call) -> str | None:
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and func.attr not in _SINK_ATTRIBUTES
        and not (isinstance(func.value, ast.Name) and func.value.id == "self")
    ):
        return None  # ``x.attr(...)`` resolves to a name ending in ``.attr``: no sink
    name = ctx.call_name(call) or ""
    if name in _PRINTS:
        return None if _command_line(ctx, call) else "stdout"
    if name in _WARNINGS:
        return "a warning"
    if isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS:
        receiver = ctx.qualname(func.value) or ""
        if receiver == "logging" or receiver.startswith(("logging.", "structlog.")):
            return "a log"
        last = raw_name(func.value) or receiver.rsplit(".", 1)[-1]
        if any(w in ("log", "logger", "logging", "logs", "audit") for w in words(last)):
            return "a log"
        if last.lower().endswith(("logger", "log")):
            return "a log"
    return None


def _command_line(ctx: FileContext, call: ast.Call) -> bool:
    """`print` in a script's entry point or a CLI command is output for the operator."""
    function = ctx.enclosing_function(call)
    if function is None:
        return any(_is_main_guard(a) for a in ctx.ancestors(call))
    for outer in (function, *(a for a in ctx.ancestors(function) if _is_function(a))):
        assert isinstance(outer, ast.FunctionDef | ast.AsyncFunctionDef)
        if outer.name in ("main", "cli", "_main", "run_cli"):
            return True
        for decorator in outer.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            dotted = ctx.qualname(target) or ""
            if dotted.startswith(("click.", "typer.")) or dotted.endswith(".command"):
                return True
    return False


def _is_main_guard(node: ast.AST) -> bool:
    """``if __name__ == "__main__":``"""
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def _is_function(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)


def _first_leak(ctx: FileContext, arguments: list[ast.AST]) -> str | None:
    for argument in arguments:
        found = _leak(ctx, argument, 0, set())
        if found is not None:
            return found
    return None


def _named_secret(name: str) -> bool:
    kind = name_category(name)
    return kind in _LEAK_KINDS and not is_hash_name(name)


def _harmless_value(ctx: FileContext, value: ast.AST) -> bool:
    if isinstance(value, ast.Constant):
        return True
    return _sanitized(ctx, value)


def _leak(ctx: FileContext, expr: ast.AST, depth: int, seen: set[int]) -> str | None:
    """What secret `expr` carries into a sink, described for the message, or None."""
    if depth > _MAX_DEPTH or id(expr) in seen:
        return None
    seen.add(id(expr))
    if isinstance(expr, ast.Constant | ast.Compare | ast.Lambda):
        return None
    if isinstance(expr, ast.UnaryOp):
        return None if isinstance(expr.op, ast.Not) else _leak(ctx, expr.operand, depth, seen)
    if isinstance(expr, ast.JoinedStr):
        return _any(ctx, expr.values, depth, seen)
    if isinstance(expr, ast.FormattedValue | ast.Starred | ast.Await):
        return _leak(ctx, expr.value, depth, seen)
    if isinstance(expr, ast.BinOp):
        return _any(ctx, [expr.left, expr.right], depth, seen)
    if isinstance(expr, ast.BoolOp):
        return _any(ctx, expr.values, depth, seen)
    if isinstance(expr, ast.IfExp):
        return _any(ctx, [expr.body, expr.orelse], depth, seen)
    if isinstance(expr, ast.Tuple | ast.List | ast.Set):
        return _any(ctx, expr.elts, depth, seen)
    if isinstance(expr, ast.Dict):
        for key, value in zip(expr.keys, expr.values, strict=True):
            if (
                isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and _named_secret(key.value)
                and not _harmless_value(ctx, value)
                and not (name_category(key.value) == "token" and lexer_token(ctx, value))
            ):
                return f"{_LEAK_KINDS[name_category(key.value) or 'secret']} (`{key.value}`)"
        return _any(ctx, expr.values, depth, seen)
    if isinstance(expr, ast.Subscript):
        return _leak_subscript(ctx, expr, depth, seen)
    if isinstance(expr, ast.Name):
        return _leak_name(ctx, expr, depth, seen)
    if isinstance(expr, ast.Attribute):
        return _leak_attribute(ctx, expr, depth, seen)
    if isinstance(expr, ast.Call):
        return _leak_call(ctx, expr, depth, seen)
    return None


def _any(ctx: FileContext, nodes: list[ast.expr], depth: int, seen: set[int]) -> str | None:
    for inner in nodes:
        found = _leak(ctx, inner, depth, seen)
        if found is not None:
            return found
    return None


def _leak_subscript(
    ctx: FileContext, expr: ast.Subscript, depth: int, seen: set[int]
) -> str | None:
    index = expr.slice
    if isinstance(index, ast.Slice):
        return None if _masking_slice(index) else _leak(ctx, expr.value, depth, seen)
    if isinstance(index, ast.Constant) and isinstance(index.value, str):
        kind = secret_literal_category(index.value)
        if kind in _LEAK_KINDS and not is_hash_name(index.value) and not _name_table(expr.value):
            return f"{_LEAK_KINDS[kind]} (`{index.value}`)"
        # Another field of a mapping (`response["KeyId"]`, `headers["X-Request-Id"]`) is
        # only as secret as the mapping's own name says (`secrets["stripe"]`).
        container = raw_name(expr.value)
        kind = name_category(container)
        if (
            kind in _LEAK_KINDS
            and kind != "plaintext"
            and not is_hash_name(container)
            and not names_non_secret(index.value)
            and not (kind == "token" and lexer_token(ctx, expr.value))
        ):
            return f"{_LEAK_KINDS[kind]} (`{container}[{index.value!r}]`)"
        return None
    return _leak(ctx, expr.value, depth, seen)


def _leak_name(ctx: FileContext, expr: ast.Name, depth: int, seen: set[int]) -> str | None:
    kind = name_category(expr.id)
    parser_token = kind == "token" and lexer_token(ctx, expr)
    if parser_token:
        kind = None  # a parser's token: judged by what it holds, below
    if kind in _LEAK_KINDS and not is_hash_name(expr.id):
        if not _only_harmless(ctx, expr):
            return f"{_LEAK_KINDS[kind]} (`{expr.id}`)"
        return None
    if ctx.parameter_of(expr) is not None:
        values = ctx.values(expr)
    else:
        values = [v for v in ctx.assignments(expr) if not isinstance(v, ast.AugAssign)]
    for value in values[:8]:
        if value is expr or (parser_token and isinstance(value, ast.Name | ast.Attribute)):
            continue
        found = _leak(ctx, value, depth + 1, seen)
        if found is not None:
            return found
        if kind == "weak-key" and _random_bytes(ctx, value):
            return f"key material (`{expr.id}`)"
    return None


def _leak_attribute(
    ctx: FileContext, expr: ast.Attribute, depth: int, seen: set[int]
) -> str | None:
    if expr.attr in _HEADER_BAGS and _is_request(ctx, expr.value):
        return "every request header (Authorization and Cookie included)"
    kind = name_category(expr.attr)
    if kind in _LEAK_KINDS and not is_hash_name(expr.attr):
        if kind == "token" and (lexer_token(ctx, expr) or _enum_member(ctx, expr)):
            return None
        if _names_a_variable(ctx, expr):
            return None
        values = ctx.values(expr) if _is_self(expr) else []
        if values and all(isinstance(v, ast.Constant) or _sanitized(ctx, v) for v in values):
            return None
        return f"{_LEAK_KINDS[kind]} (`{expr.attr}`)"
    if _is_self(expr):
        return _any(ctx, [v for v in ctx.self_attribute(expr) if isinstance(v, ast.expr)][:8],
                    depth + 1, seen)  # fmt: skip
    return None


def _leak_call(ctx: FileContext, call: ast.Call, depth: int, seen: set[int]) -> str | None:
    name = ctx.call_name(call) or ""
    func = call.func
    method = func.attr if isinstance(func, ast.Attribute) else None
    if _sanitized(ctx, call):
        return None
    if "cryptorails" in name and name.endswith("Secret"):
        return None
    if method in DECRYPT_METHODS or "Sealer.open" in name or _sealer_open(func):
        return f"decrypted plaintext (`{method or name}()`)"
    if (
        method in ("digest", "hexdigest")
        and isinstance(func, ast.Attribute)
        and any(
            isinstance(v, ast.Call) and is_mac_call(ctx.call_name(v))
            for v in ctx.values(func.value)[:8]
        )
    ):
        return "a computed MAC"
    if method in ("update", "finalize") and "decryptor" in name:
        return "decrypted plaintext (`decryptor`)"
    if name in TOKEN_GENERATORS:
        return f"a freshly generated token (`{name}()`)"
    if method in KEY_GENERATORS:
        return f"key material (`{method}()`)"
    if is_mac_call(name):
        return "a computed MAC"
    literal = _first_literal(call)
    if literal is not None and (
        method in ("get", "getenv", "getheader", "pop") or name == "os.getenv"
    ):
        kind = secret_literal_category(literal)
        if kind in _LEAK_KINDS and not is_hash_name(literal):
            return f"{_LEAK_KINDS[kind]} (`{literal}`)"
        if isinstance(func, ast.Attribute) and _is_header_bag(ctx, func.value):
            return None  # another header: not a secret
    if name in _PROPAGATING_CALLS:
        return _any(ctx, [*call.args, *(k.value for k in call.keywords)], depth, seen)
    if isinstance(func, ast.Attribute) and not _is_module(ctx, func.value):
        if method in ("format", "join", "format_map"):
            parts = [func.value, *call.args, *(k.value for k in call.keywords)]
            return _any(ctx, parts, depth, seen)
        if method in _VALUE_METHODS:
            return _leak(ctx, func.value, depth, seen)
        if method == "json" and _token_endpoint(func.value):
            return "an OAuth token response"
    if name.startswith("base64.") or name.startswith("binascii."):
        return _any(ctx, list(call.args), depth, seen)
    function = ctx.local_function(call)
    if function is not None:
        for value in ctx.values(call)[:8]:
            if value is not call:
                found = _leak(ctx, value, depth + 1, seen)
                if found is not None:
                    return found
    return None


def _first_literal(call: ast.Call) -> str | None:
    first = call.args[0] if call.args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def _is_module(ctx: FileContext, expr: ast.AST) -> bool:
    """`jwt` in ``jwt.decode(...)``: a module, not a value whose method is called."""
    return isinstance(expr, ast.Name) and expr.id in ctx.imports and ctx.parameter_of(expr) is None


def _token_endpoint(response: ast.AST) -> bool:
    """``http.post("/oauth/token", ...)``: a request whose response carries tokens."""
    if not isinstance(response, ast.Call):
        return False
    for arg in response.args[:1]:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return "token" in arg.value.lower() or "oauth" in arg.value.lower()
    return False


def _name_table(container: ast.AST) -> bool:
    """``mapping["access_key"]``, ``ENV_NAMES["password"]``: a table of names."""
    name = raw_name(container) or ""
    return bool(set(words(name)) & _NAME_TABLES) or name.isupper()


def _names_a_variable(ctx: FileContext, expr: ast.Attribute) -> bool:
    """``self.ACCESS_KEY`` where the class says ``ACCESS_KEY = "AWS_ACCESS_KEY_ID"``: the
    name of an environment variable, not its value."""
    base = expr.value
    if not (isinstance(base, ast.Name) and base.id in ("self", "cls")):
        return False
    cls = ctx.enclosing_class(expr)
    if cls is None:
        return False
    for statement in cls.body:
        if (
            isinstance(statement, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == expr.attr for t in statement.targets)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        ):
            return _ENV_NAME.fullmatch(statement.value.value) is not None
    return False


def _enum_member(ctx: FileContext, expr: ast.Attribute) -> bool:
    """``_Sentinel.token``: a member of an enum class of this module, not a value."""
    if not isinstance(expr.value, ast.Name):
        return False
    for cls in ctx.by_type.get(ast.ClassDef, ()):
        if isinstance(cls, ast.ClassDef) and cls.name == expr.value.id:
            return any((ctx.qualname(b) or "").endswith(("Enum", "Flag")) for b in cls.bases)
    return False


def _sealer_open(func: ast.expr) -> bool:
    """``sealer.open(blob, ctx)``: a receiver named like a cryptorails `Sealer`."""
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "open"
        and "sealer" in words(raw_name(func.value) or "")
    )


def _sanitized(ctx: FileContext, expr: ast.AST) -> bool:
    """A call that turns a secret into something safe to show: a length, a type, a
    hash or fingerprint, a mask."""
    if not isinstance(expr, ast.Call):
        return False
    name = ctx.call_name(expr) or ""
    if name.startswith("hashlib.") or name.startswith("cryptorails.redact"):
        return True
    last = name.rsplit(".", 1)[-1]
    return bool(set(words(last)) & _SANITIZER_WORDS) or last in _SANITIZER_WORDS


def _only_harmless(ctx: FileContext, name: ast.Name) -> bool:
    """Whether every value bound to `name` is a constant, a sanitized value or a
    cryptorails `Secret` (so the secret-looking name is not a secret here)."""
    if ctx.parameter_of(name) is not None:
        values = ctx.argument_values(*ctx.parameter_of(name))  # type: ignore[misc]
    else:
        values = [v for v in ctx.assignments(name) if not isinstance(v, ast.AugAssign)]
    if not values:
        return False
    for value in values:
        if isinstance(value, ast.Constant) or _sanitized(ctx, value):
            continue
        if isinstance(value, ast.Call) and (ctx.call_name(value) or "").endswith("Secret"):
            continue
        if (
            isinstance(value, ast.Subscript)
            and isinstance(value.slice, ast.Slice)
            and _masking_slice(value.slice)
        ):
            continue
        return False
    return True


def _masking_slice(index: ast.Slice) -> bool:
    """``token[:8]`` or ``token[-4:]``: a short prefix or suffix, accepted as masked."""
    lower, upper = index.lower, index.upper
    if lower is None and isinstance(upper, ast.Constant) and isinstance(upper.value, int):
        return 0 <= upper.value <= _MASK_PREFIX
    if (
        upper is None
        and isinstance(lower, ast.UnaryOp)
        and isinstance(lower.op, ast.USub)
        and isinstance(lower.operand, ast.Constant)
        and isinstance(lower.operand.value, int)
    ):
        return lower.operand.value <= _MASK_SUFFIX
    return False


def _random_bytes(ctx: FileContext, value: ast.AST) -> bool:
    return isinstance(value, ast.Call) and ctx.call_name(value) in (
        "os.urandom",
        "secrets.token_bytes",
    )


def _is_self(expr: ast.Attribute) -> bool:
    return isinstance(expr.value, ast.Name) and expr.value.id == "self"


def _is_request(ctx: FileContext, expr: ast.AST) -> bool:
    dotted = ctx.qualname(expr) or ""
    last = dotted.rsplit(".", 1)[-1].lower()
    return last in ("request", "req", "flask.request") or last.endswith("request")


def _is_header_bag(ctx: FileContext, expr: ast.AST) -> bool:
    return (isinstance(expr, ast.Attribute) and expr.attr in _HEADER_BAGS) or (
        isinstance(expr, ast.Name) and expr.id in ("headers", "environ", "cookies")
    )
