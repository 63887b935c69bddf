"""CR0701: TLS certificate or host-key verification switched off by a constant."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._plain_config import guard_of, parameter_guard
from cryptorails.audit.rules._prefilter import TLS_SWITCH, TLS_SWITCH_GATE
from cryptorails.audit.rules._tls import (
    UNVERIFIED_FACTORIES,
    Switch,
    context_like_class,
    is_cert_none,
    mentions,
    terminals,
)
from cryptorails.audit.rules._tls_switches import assign_switches, call_switches, dict_switches

_HOST_KEY_POLICIES = ("AutoAddPolicy", "WarningPolicy")
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


@rule(
    code="CR0701",
    name="tls-verification-disabled",
    case=7,
    severity=Severity.HIGH,
    cwe=295,
    nodes=(ast.Call, ast.Assign, ast.AnnAssign, ast.Dict),
    requires=[TLS_SWITCH_GATE, TLS_SWITCH],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds TLS connections that accept any certificate.

    ## What it does
    Reports code that switches peer verification off with a constant: ``verify=False``
    for requests, httpx (clients and transports), boto3 and other SDKs; ``ssl=False`` for
    aiohttp; ``cert_reqs="CERT_NONE"`` for urllib3; ``verify_mode = ssl.CERT_NONE`` and
    ``check_hostname = False`` on client-side ``SSLContext`` objects;
    ``ssl._create_unverified_context()`` and installing it as
    ``ssl._create_default_https_context``; ``session.verify = False``; pyOpenSSL's
    ``set_verify(VERIFY_NONE)`` or a callback that always says yes; flags such as
    ``verify_certs=False`` (Elasticsearch) or ``tlsAllowInvalidCertificates=True``
    (PyMongo); ``PYTHONHTTPSVERIFY=0``; and paramiko's ``AutoAddPolicy`` /
    ``WarningPolicy``, which accept any SSH host key. Constants are followed through
    variables, parameters and helpers. A switch that only applies when a configuration
    value says so is CR0703's finding; server-side contexts (``PROTOCOL_TLS_SERVER``,
    ``Purpose.CLIENT_AUTH``), where ``CERT_NONE`` just means "no client certificate",
    are not reported. ``urllib3.disable_warnings()`` alone is not reported either: it
    hides the warning but does not change what is verified (the ``verify=False`` next
    to it is the finding).

    ## Why is this bad?
    Without certificate and host name checks, anyone on the network path (a café
    hotspot, a compromised router, a cloud neighbour doing ARP spoofing) can present
    their own certificate and read or change the traffic, including the credentials
    and tokens it carries. Encryption without authentication of the peer protects
    against nobody who is actually in the middle.

    ## Example
    ```python
    import requests

    response = requests.get("https://internal-api/", verify=False)

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    ```

    ## Use instead
    Keep verification on and trust the right authority: ``verify="/etc/ssl/internal-ca.pem"``
    or ``ssl.create_default_context(cafile=...)``. If an exception is truly needed for a
    while, gate it with `cryptorails.overrides` (a signed approval that names the check,
    the environment and an expiry) instead of a constant.

    ## References
    - CWE-295: Improper Certificate Validation
    - RFC 9110 §4.3.4 (https certificate verification); RFC 6125 (host name checks)
    - Python documentation, ``ssl`` "Security considerations"; PEP 476 and PEP 493
    - Georgiev et al., "The most dangerous code in the world" (CCS 2012)
    """
    if isinstance(node, ast.Call):
        switches = call_switches(ctx, node)
        yield from _always_accepting_callback(node, ctx)
        yield from _host_key_policy(node, ctx)
    elif isinstance(node, ast.Assign | ast.AnnAssign):
        switches = assign_switches(ctx, node)
    elif isinstance(node, ast.Dict):
        switches = dict_switches(ctx, node)
    else:
        return
    for switch in switches:
        if not switch.tls or _from_shim_attribute(ctx, switch):
            continue
        for value, tests in terminals(ctx, switch.value):
            if not switch.off(ctx, value) or guard_of(ctx, switch, value, tests) is not None:
                continue
            if parameter_guard(ctx, value) is False or parameter_guard(ctx, switch.at) is False:
                continue  # an option of this helper that no caller here turns off
            if switch.what == ".check_hostname" and (
                _cert_none_follows(ctx, switch.at) or _hostname_matched(ctx, switch.at)
            ):
                break  # one finding per context (the CERT_NONE line), or checked by hand
            yield ctx.report(switch.at, _message(ctx, switch, value))
            return  # one finding per call or statement


def _from_shim_attribute(ctx: FileContext, switch: Switch) -> bool:
    value = switch.value
    return (
        isinstance(value, ast.Attribute)
        and isinstance(value.value, ast.Name)
        and value.value.id == "self"
        and context_like_class(ctx, value)
    )


def _message(ctx: FileContext, switch: Switch, value: ast.AST) -> str:
    if switch.what[:-2] in UNVERIFIED_FACTORIES:
        return f"{switch.what} builds a context that accepts any certificate"
    shown = ctx.qualname(value) or ast.unparse(value)
    if isinstance(value, ast.Constant):
        shown = repr(value.value)
    where = ""
    at_line = getattr(switch.at, "lineno", 0)
    value_line = getattr(value, "lineno", at_line)
    if value_line != at_line:
        where = f" (from line {value_line})"
    if switch.what.startswith(".check_hostname"):
        effect = "any valid certificate is accepted for any host name"
    elif switch.what in ("PYTHONHTTPSVERIFY", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"):
        return f"{switch.what}={shown}{where} turns certificate verification off process-wide"
    elif switch.what == "ssl._create_default_https_context":
        return f"{switch.what} is replaced by {shown}: every urllib HTTPS request goes unverified"
    else:
        effect = "the server's certificate is not verified"
    if switch.what.endswith("="):
        setting = f"{switch.what}{shown}"
    elif switch.what.endswith(":"):
        setting = f"{switch.what} {shown}"
    elif switch.what.startswith("."):
        setting = f"{switch.what} = {shown}"
    else:
        setting = f"{switch.what[:-2]}({shown})"
    return f"{setting}{where}: {effect}"


def _cert_none_follows(ctx: FileContext, target: ast.AST) -> bool:
    """Whether the same context also gets ``verify_mode = CERT_NONE`` in this scope."""
    if not isinstance(target, ast.Attribute):
        return False
    receiver = ast.dump(target.value)
    scope = ctx.scope_of.get(target)
    for other in ctx.by_type.get(ast.Assign, ()):
        assert isinstance(other, ast.Assign)
        if ctx.scope_of.get(other) is not scope:
            continue
        for t in other.targets:
            if (
                isinstance(t, ast.Attribute)
                and t.attr == "verify_mode"
                and ast.dump(t.value) == receiver
                and any(is_cert_none(ctx, v) for v, _ in terminals(ctx, other.value))
            ):
                return True
    return False


def _hostname_matched(ctx: FileContext, node: ast.AST) -> bool:
    """Whether the function (or module) matches the host name itself, as urllib3 does
    with ``match_hostname`` after turning the ``ssl`` module's check off."""
    if mentions(ctx, b"match_hostname"):
        return True
    # A context factory that sets verify_mode from its caller's argument (urllib3's
    # create_urllib3_context and its copies) leaves host names to the connection.
    for function in (a for a in ctx.ancestors(node) if isinstance(a, _FUNCS)):
        params = {a.arg for a in (*function.args.args, *function.args.kwonlyargs)}
        for sub in ast.walk(function):
            if (
                isinstance(sub, ast.Assign)
                and isinstance(sub.value, ast.Name)
                and sub.value.id in params
                and any(
                    isinstance(t, ast.Attribute) and t.attr == "verify_mode" for t in sub.targets
                )
            ):
                return True
    scope = ctx.enclosing_function(node)
    for calls in (ctx.calls_by_name, ctx.calls_by_attr):
        for name, found in calls.items():
            if "match_hostname" not in name and "verify_hostname" not in name:
                continue
            if any(ctx.enclosing_function(c) is scope for c in found):
                return True
    return False


def _always_accepting_callback(call: ast.Call, ctx: FileContext) -> Iterator[Finding]:
    """pyOpenSSL ``set_verify(VERIFY_PEER, callback)`` with a callback that returns True
    whatever OpenSSL found: verification runs and its verdict is thrown away."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "set_verify"):
        return
    callback = call.args[1] if len(call.args) > 1 else None
    for kw in call.keywords:
        if kw.arg == "callback":
            callback = kw.value
    if callback is None:
        return
    for value in ctx.values(callback):
        if isinstance(value, ast.Lambda):
            returns: list[ast.AST] = [value.body]
        elif isinstance(value, ast.Name):
            functions = ctx.functions.get(value.id, [])
            if len(functions) != 1:
                continue
            returns = [
                n.value
                for n in ast.walk(functions[0])
                if isinstance(n, ast.Return) and n.value is not None
            ]
        else:
            continue
        if returns and all(isinstance(r, ast.Constant) and r.value is True for r in returns):
            yield ctx.report(callback, "verify callback always returns True: any certificate")
            return


def _host_key_policy(call: ast.Call, ctx: FileContext) -> Iterator[Finding]:
    func = call.func
    if (
        not (isinstance(func, ast.Attribute) and func.attr == "set_missing_host_key_policy")
        or not call.args
    ):
        return
    policy = call.args[0]
    for value in ctx.values(policy):
        name = ctx.qualname(value) or ""
        if name.rsplit(".", 1)[-1] in _HOST_KEY_POLICIES:
            yield ctx.report(
                policy, f"{name.rsplit('.', 1)[-1]} accepts any SSH host key on first contact"
            )
            return
