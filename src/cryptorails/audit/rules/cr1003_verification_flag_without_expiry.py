"""CR1003: a security check switched off by a permanent constant."""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import PurePath

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._name_words import NameWords

_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

# "True means off": a verb that switches something off, or a word that says "unchecked".
_OFF_VERBS = frozenset(
    {
        "disable", "disabled", "disables", "skip", "skips", "skipped", "bypass", "bypassed",
        "ignore", "ignores", "ignored", "no", "without", "off", "dangerously",
    }
)  # fmt: skip
_PERMIT_VERBS = frozenset({"allow", "allows", "allowed", "accept", "accepts", "trust", "permit"})
_BAD_INPUTS = frozenset(
    {"unsigned", "unverified", "insecure", "invalid", "expired", "selfsigned", "untrusted"}
)
_UNCHECKED = frozenset({"insecure", "unverified", "unsigned", "noverify", "noauth"})
_CHECKS = frozenset(
    {
        "verify", "verification", "verifications", "verifying", "validate", "validation",
        "signature", "signatures", "sig", "sigs", "signing", "signed", "auth",
        "authentication", "authorization", "authn", "authz", "ssl", "tls", "cert", "certs",
        "certificate", "certificates", "hostname", "hmac", "mac", "integrity", "checksum",
        "checksums", "jwt", "jws", "token", "tokens", "csrf", "xsrf", "encryption", "crypto",
        "mfa", "2fa", "otp", "permission", "permissions", "security", "pinning",
    }
)  # fmt: skip
# "False means off": a verification word, or a switch word next to a crypto check.
_VERIFY_WORDS = frozenset({"verify", "verification", "verifications"})
_SWITCH_WORDS = frozenset(
    {
        "validate", "validation", "check", "checks", "enforce", "enforced", "require",
        "required", "requires", "enabled", "enable", "strict", "pinning",
    }
)  # fmt: skip
# Not "ssl"/"tls" alone: `TLS_ENABLED = False` is a transport choice (often a local
# Redis or SMTP), not a verification switched off; `SSL_CERT_REQUIRED` still counts.
_CRYPTO_CHECKS = frozenset(
    {
        "signature", "signatures", "sig", "signed", "cert", "certs",
        "certificate", "certificates", "hostname", "hmac", "integrity", "jwt", "token",
        "tokens", "webhook", "webhooks", "checksum", "checksums",
    }
)  # fmt: skip
# Words that make a name about something other than the check itself.
_NOT_A_CHECK = frozenset(
    {
        "cache", "caching", "cached", "refresh", "log", "logs", "logging", "logger",
        "warning", "warnings", "warn", "metrics", "telemetry", "tracing", "migration",
        "migrations", "retry", "retries", "email", "emails", "phone", "sms", "mobile",
        "age", "address", "banner", "prompt", "notification", "notifications",
        "redirect", "upload", "uploads", "registration", "signup", "example", "docs",
        "timeout", "ttl", "count", "url", "path", "file", "name", "header", "env",
        "bundle", "cafile", "capath", "cacert", "certfile", "keyfile", "dir",
    }
)  # fmt: skip
_SETTINGS_CLASS_WORDS = frozenset(
    {
        "settings", "setting", "config", "configs", "configuration", "conf", "options",
        "flags", "features", "defaults",
    }
)  # fmt: skip
# Names that describe a state ("is_verified") rather than a switch.
_STATE_PREFIXES = frozenset({"is", "has", "was", "were", "did", "can", "should_have"})
_TRUTHY = frozenset({"1", "true", "yes", "on"})
_FALSY = frozenset({"0", "false", "no", "off"})
_CONFIG_ROOTS = frozenset({"settings", "config", "conf", "cfg", "app.config", "CONFIG", "SETTINGS"})
_CONFIG_CALLS = frozenset({"update", "from_mapping", "setdefault", "configure"})
_TEST_WORDS = frozenset({"test", "tests"})
_TEST_FRAMEWORKS = frozenset({"pytest", "_pytest", "unittest", "hypothesis", "mock"})

_STEMS = (
    "valid", "sig", "auth", "token", "permission", "security", "cert", "srf", "mac",
    "crypt", "verif", "expired", "ssl", "hostname", "integrity", "tls", "insecure",
    "untrusted", "otp", "mfa", "2fa", "checksum", "jw", "webhook", "pinning",
)  # fmt: skip
_NAME_WORDS = NameWords(
    alone=_UNCHECKED | _VERIFY_WORDS,
    pairs=[
        (_OFF_VERBS, _CHECKS),
        (_PERMIT_VERBS, _BAD_INPUTS | {"self", "signed"}),  # "allow self signed"
        (_SWITCH_WORDS, _CRYPTO_CHECKS),
    ],
)


def _may_define_a_switch(source: bytes, lowered: bytes, path: str) -> bool:
    """The rule's text test (`Rule.confirm`), a necessary condition for a finding: a
    name whose words `_switches_off` can accept (`NameWords`: without the words that
    rule a name out), in a module that is not a test module by its path."""
    return not _test_path(path) and _NAME_WORDS.may_name(source)


@rule(
    code="CR1003",
    name="verification-flag-without-expiry",
    case=10,
    severity=Severity.MEDIUM,
    cwe=1188,
    nodes=(ast.Assign, ast.AnnAssign, ast.Dict, ast.Call),
    # The constant is a bool (True/False) or, for an environment variable set in code,
    # a string under os.environ; the flag's name holds one of the check words below
    # (stems of _CHECKS, _UNCHECKED, _BAD_INPUTS, _VERIFY_WORDS and _CRYPTO_CHECKS:
    # the name must hold one of them to switch a check off). The test suite checks the
    # stems against those vocabularies.
    requires=[["true", "false", "environ"], _STEMS],
    confirm=_may_define_a_switch,
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds security checks switched off by a permanent constant.

    ## What it does
    Reports module-level and class-level settings, config entries
    (`app.config["JWT_VERIFY"] = False`, `settings.X = ...`, `config.update(X=...)`),
    environment variables set in code and feature-flag dicts that turn a verification
    off with a plain constant: `DISABLE_SIGNATURE_VERIFICATION = True`,
    `SKIP_WEBHOOK_VERIFY = True`, `INSECURE = True`, `ALLOW_UNSIGNED = True`,
    `VERIFY_SSL = False`, `JWT_VERIFY = False`, `{"skip_auth": True}`. Names about
    something other than the check (`DISABLE_SSL_WARNINGS`, `SKIP_MIGRATIONS`,
    `ALLOW_REGISTRATION`, `EMAIL_VERIFICATION_REQUIRED`) and test modules are left
    alone. Reading such a switch from the environment at the place of use is CR0703.

    ## Why is this bad?
    "Temporarily" disabling a check with a constant is permanent in practice: nobody
    approved it, nothing shows that it is on, nothing turns it off, and it ships to
    production with the next deploy. Attackers look for exactly these switches
    (forged webhooks, unsigned tokens, intercepted TLS).

    ## Example
    ```python
    # settings.py
    SKIP_WEBHOOK_VERIFY = True  # until the provider fixes their signatures
    ```

    ## Use instead
    Keep the check on and, when it really must be bypassed, use an approved, expiring
    override from `cryptorails.overrides`: the service asks
    `overrides.active("webhooks.stripe.verify")` on an `Overrides` loaded with a signed
    approval (`cryptorails.overrides.approve(...)` or `cryptorails override approve`)
    that is bound to one environment, expires within seven days and logs a warning
    while active.

    ## References
    - CWE-1188: Initialization of a Resource with an Insecure Default
    - CWE-295: Improper Certificate Validation; CWE-347: Improper Verification of
      Cryptographic Signature
    - OWASP ASVS 4.0.3 V14.1 (secure build and deployment configuration)
    """
    if isinstance(node, ast.Call) and not (
        isinstance(node.func, ast.Attribute) and node.func.attr in _CONFIG_CALLS
    ):
        return  # the common case, tested before anything else
    for target, name, value in _flag_definitions(ctx, node):
        off = _switches_off(name, value)
        if off is not None and not _in_tests(ctx):
            yield ctx.report(
                target,
                f"{name} = {off} turns a security check off for good: nothing approves "
                "it or makes it expire",
            )


def _in_tests(ctx: FileContext) -> bool:
    """Whether the module is test code: named like a test module or test settings
    (``test_*.py``, ``*_test.py``, ``tests.py``, ``conftest.py``, ``settings/testing.py``),
    directly inside a ``tests`` directory, or importing a test framework.

    Only the module's own name and directory count: the directories further up say
    where the checkout lives (``/home/ci/test/...``), not what the module is.
    """
    key = ("CR1003:tests",)
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = _test_path(ctx.path) or any(
            v.split(".", 1)[0] in _TEST_FRAMEWORKS or v.startswith("django.test")
            for v in ctx.imports.values()
        )
    return found is True


def _test_path(path: str) -> bool:
    """Whether the module's own name or directory makes it test code."""
    parts = PurePath(path.replace("\\", "/"))
    stem = parts.stem.lower()
    words = [w for w in _SPLIT.split(stem) if w] or [""]
    return (
        words[0] in _TEST_WORDS
        or words[-1] in _TEST_WORDS
        or stem in ("testing", "conftest")
        or (len(parts.parts) > 1 and parts.parts[-2].lower() in _TEST_WORDS)
    )


def _flag_definitions(ctx: FileContext, node: ast.AST) -> Iterator[tuple[ast.AST, str, object]]:
    """``(where, name, constant)`` for each flag `node` defines."""
    if isinstance(node, ast.Assign | ast.AnnAssign):
        value = _constant(node.value)
        if value is None:
            return
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        scope = ctx.scope_of.get(node)
        for target in targets:
            if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                key = target.slice.value
                environ = ctx.qualname(target.value) == "os.environ"
                # Environment values are strings; settings flags must be real bools.
                if isinstance(key, str) and (
                    environ or (_is_config(ctx, target.value) and isinstance(value, bool))
                ):
                    yield target, key, value
            elif not isinstance(value, bool):
                continue
            elif isinstance(target, ast.Name):
                if isinstance(scope, ast.Module) or (
                    isinstance(scope, ast.ClassDef) and _settings_class(ctx, scope)
                ):
                    yield target, target.id, value
            elif isinstance(target, ast.Attribute) and _is_config(ctx, target.value):
                yield target, target.attr, value
    elif isinstance(node, ast.Dict) and _dict_is_settings(ctx, node):
        for entry, item in zip(node.keys, node.values, strict=True):
            value = _constant(item)
            if (
                isinstance(entry, ast.Constant)
                and isinstance(entry.value, str)
                and isinstance(value, bool)
            ):
                yield entry, entry.value, value
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "setdefault" and ctx.qualname(node.func.value) == "os.environ":
            name = node.args[0] if node.args else None
            value = _constant(node.args[1]) if len(node.args) > 1 else None
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and value is not None:
                yield node, name.value, value
        elif node.func.attr in _CONFIG_CALLS:
            for keyword in node.keywords:
                value = _constant(keyword.value)
                if keyword.arg is not None and isinstance(value, bool):
                    yield keyword.value, keyword.arg, value


def _settings_class(ctx: FileContext, cls: ast.ClassDef) -> bool:
    """A class that holds configuration (``Settings``, ``ProdConfig``, a pydantic
    ``BaseSettings``), not one whose attributes are an object's state or a class's
    description of itself; test configurations are left alone."""
    names = [cls.name, *(ctx.qualname(b) or "" for b in cls.bases)]
    words = {w for n in names for w in _words(n.rsplit(".", 1)[-1])}
    return not words & {"test", "testing", "tests"} and bool(words & _SETTINGS_CLASS_WORDS)


def _constant(expr: ast.AST | None) -> object:
    """A bool, or a string from an environment assignment; also a pydantic/dataclass
    field's ``default=``."""
    if isinstance(expr, ast.Call):
        for keyword in expr.keywords:
            if keyword.arg == "default":
                return _constant(keyword.value)
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, bool | str):
        return expr.value
    return None


def _is_config(ctx: FileContext, expr: ast.AST) -> bool:
    name = ctx.qualname(expr) or ""
    return (
        name in _CONFIG_ROOTS
        or name.endswith((".config", ".settings"))
        or name.endswith("django.conf.settings")
    )


def _dict_is_settings(ctx: FileContext, node: ast.Dict) -> bool:
    """A dict defined as a module/class constant or a config update, not one passed to a
    call as its options (those are use sites, reported by the rules for that API)."""
    current: ast.AST = node
    parent = ctx.parent(current)
    while isinstance(parent, ast.Dict):
        current, parent = parent, ctx.parent(parent)
    if isinstance(parent, ast.Assign | ast.AnnAssign):
        return isinstance(ctx.scope_of.get(parent), ast.Module | ast.ClassDef)
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute):
        return parent.func.attr in _CONFIG_CALLS and current in parent.args
    return False


def _words(name: str) -> list[str]:
    return [w for w in _SPLIT.split(_CAMEL.sub("_", name).lower()) if w]


@functools.lru_cache(maxsize=4096, typed=True)
def _switches_off(name: str, value: object) -> str | None:
    """The constant's text when `name` = `value` turns a check off, else None."""
    if isinstance(value, str):  # an environment variable set in code
        lowered = value.strip().lower()
        truth: bool | None = True if lowered in _TRUTHY else False if lowered in _FALSY else None
        if truth is None:
            return None
        shown = repr(value)
    elif isinstance(value, bool):
        truth, shown = value, str(value)
    else:
        return None
    ordered = _words(name)
    words = set(ordered)
    if not words or words & _NOT_A_CHECK or ordered[0] in _STATE_PREFIXES:
        return None
    if truth and _off_when_true(words):
        return shown
    if not truth and _off_when_false(words):
        return shown
    return None


def _off_when_true(words: set[str]) -> bool:
    if words & _UNCHECKED:
        return True
    if words & _OFF_VERBS and words & _CHECKS:
        return True
    return bool(words & _PERMIT_VERBS) and bool(
        words & _BAD_INPUTS or ("self" in words and "signed" in words)
    )


def _off_when_false(words: set[str]) -> bool:
    if words & (_OFF_VERBS | _UNCHECKED | _PERMIT_VERBS):
        return False  # a negative name set to False leaves the check on
    if words & _VERIFY_WORDS:
        return True
    return bool(words & _SWITCH_WORDS) and bool(words & _CRYPTO_CHECKS)
