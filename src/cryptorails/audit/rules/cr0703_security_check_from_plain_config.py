"""CR0703: a security check switched on or off by a plain config value or env var."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._plain_config import OVERRIDE, config_reads, guard_of
from cryptorails.audit.rules._prefilter import (
    AUTH,
    PERM,
    SIG,
    TLS_SWITCH,
    TLS_SWITCH_GATE,
    group,
)
from cryptorails.audit.rules._tls import Switch, terminals
from cryptorails.audit.rules._tls_switches import assign_switches, call_switches, dict_switches

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_WORD = re.compile(r"[a-z0-9]+")
# A configured CA bundle is how verification is kept on with a private CA: a config
# value named like a path is not a switch.
_PATH_WORDS = frozenset(
    {"bundle", "pem", "crt", "path", "file", "dir", "cafile", "capath", "cacert", "cacerts"}
    | {"certfile", "cabundle", "ca", "location", "store"}
)
# Setting names that say they switch a check: SKIP_VERIFY, INSECURE, DEBUG, ENV == "dev".
_SWITCH_WORDS = frozenset(
    {"skip", "verify", "verification", "insecure", "debug", "disable", "disabled", "bypass"}
    | {"unsafe", "check", "checks", "validate", "validation", "enforce", "require", "strict"}
    | {"signature", "signatures", "auth", "dev", "development", "test", "testing", "local"}
    | {"env", "environment", "production", "prod", "staging", "ssl", "tls", "no", "allow"}
    | {"security", "secure", "enabled", "enable", "mode"}
)
_RAISE_STYLE = frozenset({"verify", "check", "validate", "ensure", "require", "assert"})
_RETURNS_VERIFIED = frozenset(
    {"verify", "check", "validate", "authenticate", "authorize", "authorise"}
)
_BOOL_CALLS = frozenset({"bool", "strtobool", "str2bool", "to_bool", "as_bool", "parse_bool"})
# Calls that perform a verification: `verify`, `verify_signature`, `authenticate`,
# `check_signature`, `validate_token`, `hmac.compare_digest`, `jwt.decode`.
_VERIFY_VERBS = frozenset({"verify", "authenticate", "authorize", "authorise"})
_CHECK_VERBS = frozenset({"check", "validate", "ensure", "require", "assert", "is", "has"})
# The first words `_is_verification` accepts.
_FIRST_WORDS = tuple(sorted(_VERIFY_VERBS | _CHECK_VERBS | {"compare", "decode"}))
# Prefilter words of `_SECURITY_NOUNS` besides signatures, MACs and TLS words.
_NOUN_WORDS = (
    *("csrf", "xsrf", "webhook", "token", "jwt", "credential", "password", "otp", "mfa"),
    *("captcha", "apikey", "admin", "superuser", "staff", "login"),
)
_SECURITY_NOUNS = frozenset(
    {
        "signature",
        "sig",
        "signed",
        "hmac",
        "mac",
        "csrf",
        "xsrf",
        "permission",
        "permissions",
        "perm",
        "perms",
        "webhook",
        "token",
        "jwt",
        "auth",
        "authenticated",
        "authorized",
        "authorised",
        "credential",
        "credentials",
        "password",
        "otp",
        "totp",
        "mfa",
        "captcha",
        "certificate",
        "cert",
        "hostname",
        "apikey",
        "admin",
        "superuser",
        "staff",
        "login",
        "authentication",
        "authorization",
    }
)


@rule(
    code="CR0703",
    name="security-check-from-plain-config",
    case=7,
    severity=Severity.HIGH,
    cwe=807,
    nodes=(ast.Call, ast.Assign, ast.AnnAssign, ast.Dict, ast.If),
    # A config read (`_plain_config`) and a switch (`TLS_SWITCH`) or a verification call,
    # security function or security wrapper (`_VERIFY_VERBS`, `_SECURITY_NOUNS`).
    requires=[
        ["conf", "settings", "env", "cfg", "getbool", "get_bool", "as_bool"],
        group(TLS_SWITCH_GATE, "compare", "jose", "sig", "mac", "auth", "perm", _NOUN_WORDS),
        group(
            TLS_SWITCH,
            "compare_digest",
            "comparedigest",
            "jose",
            SIG,
            "_signed",
            "signed_",
            "mac",
            AUTH,
            PERM,
            _NOUN_WORDS,
        ),
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds security checks that a config file or environment variable turns off.

    ## What it does
    Reports verification switches whose value comes from plain configuration: the
    environment (``os.getenv``, ``os.environ``), settings objects (``settings.X``,
    ``app.config["X"]``, ``self.config.x``), config files (``getboolean``) and
    django-environ / python-decouple reads. Switches are TLS verification
    (``verify=settings.VERIFY_SSL``, ``check_hostname = config.x``,
    ``verify=os.environ.get("VERIFY") != "0"``, a ``verify=False`` or unverified
    context chosen under ``if os.getenv("DEV"):``), JWT checks
    (``options={"verify_signature": settings.JWT_VERIFY}``), an ``if`` on a config value
    that decides whether ``verify(...)``, ``authenticate(...)`` or
    ``hmac.compare_digest(...)`` runs or is jumped over, and ``if settings.DEBUG:
    return True`` inside a verification or permission function. A CA-bundle path read
    from config (``verify=settings.CA_BUNDLE``) keeps verification on and is not
    reported; nor is a value decided by `cryptorails.overrides`, or a constant True.

    ## Why is this bad?
    A boolean in a config file or an environment variable has no owner, no approval and
    no end. "Temporarily" disabling signature checks for a staging integration is one
    copied ``.env`` away from production, nothing says that it is on, and nothing turns
    it off again. Attackers who can set one variable (a leaked CI secret store, a
    misconfigured Helm chart) switch the check off without touching code.

    ## Example
    ```python
    VERIFY = os.environ.get("VERIFY_SSL", "1") != "0"
    requests.get(url, verify=VERIFY)

    def verify_webhook(body: bytes, signature: str) -> bool:
        if settings.DEBUG:
            return True
        ...
    ```

    ## Use instead
    Keep the check unconditional. When an exception is really needed, make it an
    approved, expiring, environment-bound override with `cryptorails.overrides`:
    ``overrides.active("webhook-signature")`` returns the approval only while a signed,
    unexpired one (``cryptorails override approve``) is loaded, and logs a warning while
    it is in effect.

    ## References
    - CWE-807: Reliance on Untrusted Inputs in a Security Decision
    - CWE-489: Active Debug Code
    - OWASP ASVS 4.0 V14.1 (build and deploy: configuration hardening) and V1.14
    """
    if isinstance(node, ast.If):
        yield from _branch(node, ctx)
        return
    if isinstance(node, ast.Call):
        switches = call_switches(ctx, node)
    elif isinstance(node, ast.Assign | ast.AnnAssign):
        switches = assign_switches(ctx, node)
    elif isinstance(node, ast.Dict):
        switches = dict_switches(ctx, node)
    else:
        return
    for switch in switches:
        if switch.configurable:
            finding = _configured(ctx, switch)
            if finding is not None:
                yield finding


def _configured(ctx: FileContext, switch: Switch) -> Finding | None:
    reads = config_reads(ctx, switch.value)
    if reads is None:
        return None  # decided by a cryptorails override
    if switch.path_ok and not _boolean_shaped(ctx, switch.value):
        reads = [r for r in reads if not _path_like(r[1])]
    check = "certificate verification" if switch.tls else "signature verification"
    if reads:
        return ctx.report(
            switch.at,
            f"{switch.what} comes from plain config ({reads[0][0]}): one edited value turns "
            f"{check} off, with no approval and no expiry",
        )
    for value, tests in terminals(ctx, switch.value):
        if not switch.off(ctx, value):
            continue
        guard = guard_of(ctx, switch, value, tests)
        if guard is not None and guard != OVERRIDE:
            verb = "is used" if switch.what.endswith("()") else "is set to off"
            return ctx.report(
                switch.at,
                f"{switch.what} {verb} when plain config says so ({guard}): "
                f"{check} off with no approval and no expiry",
            )
    return None


def _path_like(key: str) -> bool:
    return bool(_PATH_WORDS.intersection(_words(key)))


def _boolean_shaped(ctx: FileContext, expr: ast.AST) -> bool:
    for value in ctx.values(expr):
        if isinstance(value, ast.Compare) or (
            isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not)
        ):
            return True
        if isinstance(value, ast.Call):
            name = (ctx.call_name(value) or "").rsplit(".", 1)[-1]
            if name in _BOOL_CALLS or name in ("getboolean", "getbool", "get_bool"):
                return True
            if any(
                k.arg == "cast" and isinstance(k.value, ast.Name) and k.value.id == "bool"
                for k in value.keywords
            ):
                return True
    return False


def _words(name: str) -> list[str]:
    return _WORD.findall(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower())


def _callee_words(call: ast.Call) -> list[str]:
    func = call.func
    if isinstance(func, ast.Attribute):
        name = func.attr
    elif isinstance(func, ast.Name):
        name = func.id
    else:
        return []
    # Only the first word can make a verification, and it starts the name after its
    # underscores (unless a non-ASCII letter comes first): skip the others unsplit.
    head = name.lstrip("_")[:1]
    if head.isascii() and not name.lstrip("_").lower().startswith(_FIRST_WORDS):
        return []
    return _words(name)


def _is_verification(ctx: FileContext, call: ast.Call) -> bool:
    words = _callee_words(call)
    if not words:
        return False
    if words[0] in _VERIFY_VERBS or words == ["compare", "digest"]:
        return True
    if words[0] in _CHECK_VERBS and _SECURITY_NOUNS.intersection(words[1:]):
        return True
    return words == ["decode"] and (ctx.call_name(call) or "").startswith(("jwt.", "jose."))


def _verifies(ctx: FileContext, statements: list[ast.stmt]) -> bool:
    """Whether a verification call is inside `statements`."""
    return bool(statements) and not _around_verification_calls(ctx).isdisjoint(statements)


def _around_verification_calls(ctx: FileContext) -> set[ast.AST]:
    """Every node that holds one of the module's verification calls (found once: every
    ``if`` asks about them)."""
    key = ("CR0703", "around_verification_calls")
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = {
            a
            for c in ctx.by_type.get(ast.Call, ())
            if isinstance(c, ast.Call) and _is_verification(ctx, c)
            for a in ctx.ancestors(c)
        }
    return found  # type: ignore[return-value]


def _security_function(function: ast.AST | None) -> tuple[str, list[str]] | None:
    """The verb and words of a function whose job is to decide a security question."""
    if not isinstance(function, _FUNCS):
        return None
    words = _words(function.name)
    if not words:
        return None
    if words[0] in _VERIFY_VERBS:
        return words[0], words
    if words[0] in _CHECK_VERBS and _SECURITY_NOUNS.intersection(words[1:]):
        return words[0], words
    return None


def _passes_through(
    ctx: FileContext, node: ast.If, function: ast.FunctionDef | ast.AsyncFunctionDef
) -> bool:
    """``if settings.DEBUG: return view(request)`` in a security decorator's wrapper or a
    security middleware: the wrapped handler runs without the check. The handler is a
    parameter of this function or of the function around it (`view`, `call_next`,
    `get_response`), and one of those functions is named for a security concern."""
    returns = [s for s in node.body if isinstance(s, ast.Return) and s.value is not None]
    if not returns:
        return False
    value = returns[0].value
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    handler = func.id if isinstance(func, ast.Name) else None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        handler = func.value.id if func.value.id not in ("self", "cls") else func.attr
    functions = [function, *(a for a in ctx.ancestors(function) if isinstance(a, _FUNCS))]
    if handler is None or not any(handler in _parameters(f) for f in functions[:2]):
        return False
    return any(_SECURITY_NOUNS.intersection(_words(f.name)) for f in functions[:2]) or any(
        _security_function(f) is not None for f in functions[:2]
    )


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    a = function.args
    return {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)}


def _bypass(node: ast.If, verb: str) -> bool:
    """Whether the ``if`` body returns "verified" from a function whose `verb` says it
    decides a security question."""
    returns = [s for s in node.body if isinstance(s, ast.Return)]
    if not returns:
        return False
    value = returns[0].value
    if isinstance(value, ast.Constant) and value.value is False:
        return False
    if value is None or (isinstance(value, ast.Constant) and value.value is None):
        # Returning nothing passes a verifier that fails by raising or aborting
        # (`verify_*`, `check_*`, a Flask before_request hook) and denies in a predicate
        # or an authentication backend (`is_*`, Django's `authenticate`).
        return verb in _RAISE_STYLE
    if isinstance(value, ast.Constant):
        return value.value is True
    return verb in _RETURNS_VERIFIED


def _block_of(ctx: FileContext, node: ast.stmt) -> list[ast.stmt]:
    parent = ctx.parent(node)
    for field in ("body", "orelse", "finalbody"):
        block = getattr(parent, field, None)
        if isinstance(block, list) and node in block:
            return block
    return []


def _branch(node: ast.If, ctx: FileContext) -> Iterator[Finding]:
    parent = ctx.parent(node)
    if isinstance(parent, ast.If) and parent.orelse == [node]:
        return  # an elif: the chain is judged at its first test
    what = _decided(node, ctx)
    if what is None:
        return
    reads = config_reads(ctx, node.test)
    if not reads:
        return  # no config read, or a cryptorails override decides
    if not any(_SWITCH_WORDS.intersection(_words(key)) for _, key in reads):
        # `if token is not None: validate(token)` with the token read from the
        # environment checks a value, it does not switch a check.
        return
    read = reads[0][0]
    yield ctx.report(
        node.test,
        f"plain config ({read}) decides {what}: no approval, no expiry",
    )


def _decided(node: ast.If, ctx: FileContext) -> str | None:
    """What the ``if`` decides about verification, or None."""
    in_body, in_else = _verifies(ctx, node.body), _verifies(ctx, node.orelse)
    what: str | None = None
    if in_body != in_else:
        what = "whether verification runs"
    elif not in_body:
        function = ctx.enclosing_function(node)
        security = _security_function(function)
        if security is not None and function is not None:
            verb = security[0]
            if _bypass(node, verb):
                what = f"whether {function.name}() says yes without checking"
        if what is None and function is not None and _passes_through(ctx, node, function):
            what = "whether the security check around it is skipped"
        if what is None and any(isinstance(s, ast.Return) for s in node.body):
            block = _block_of(ctx, node)
            later = block[block.index(node) + 1 :] if node in block else []
            if _verifies(ctx, later):
                what = "whether the verification below is skipped"
    return what
