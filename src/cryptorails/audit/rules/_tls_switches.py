"""Where a verification switch is (CR0701 and CR0703): the `Switch` objects of a call's
keywords, a dictionary's entries and an assignment's targets (see `_tls`). Each is
computed once per node and file, since both rules ask.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from typing import Any

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import identifier
from cryptorails.audit.rules._tls import (
    UNVERIFIED_FACTORIES,
    Switch,
    imports_module,
    is_cert_none,
    is_false,
    is_true,
    keyword_polarity,
    mentions,
    server_module,
)

__all__ = ["assign_switches", "call_switches", "dict_switches", "server_context"]


def _const(v: ast.AST) -> object:
    return v.value if isinstance(v, ast.Constant) else _NOT_CONSTANT


_NOT_CONSTANT = object()


def _cert_none_or_none(ctx: FileContext, v: ast.AST) -> bool:
    """redis-py's ``ssl_cert_reqs``: None means CERT_NONE there."""
    return (isinstance(v, ast.Constant) and v.value is None) or is_cert_none(ctx, v)


def _is_ssl_cert_none(ctx: FileContext, v: ast.AST) -> bool:
    """Only the named constant: used for keywords whose meaning is not known."""
    name = ctx.qualname(v) or ""
    return name in ("ssl.CERT_NONE", "ssl.VerifyMode.CERT_NONE")


def _is_verify_none(ctx: FileContext, v: ast.AST) -> bool:
    name = ctx.qualname(v) or ""
    return name.endswith("VERIFY_NONE") or (type(_const(v)) is int and _const(v) == 0)


def _always(ctx: FileContext, v: ast.AST) -> bool:
    return True


def _is_unverified_factory(ctx: FileContext, v: ast.AST) -> bool:
    return ctx.qualname(v) in UNVERIFIED_FACTORIES


_CERT_REQS = frozenset({"cert_reqs", "ssl_cert_reqs", "verify_mode"})


_JWT_VERIFY_KEYS = frozenset(
    {"verify_signature", "verify_exp", "verify_aud", "verify_iss", "verify_nbf", "verify_iat"}
)


_JWT_ROOTS = ("jwt.", "jose.", "authlib.", "itsdangerous.", "python_jwt.", "jwcrypto.")


_SIGNATURE_VERBS = frozenset({"decode", "verify", "loads", "unsign", "load", "decode_token"})


# Servers (ASGI/WSGI runners, `serve`, `create_server`): CERT_NONE there means "no client
# certificate", the normal case.
_SERVERISH = re.compile(r"(?i)uvicorn|hypercorn|gunicorn|daphne|server|serve|listen")


_SESSIONISH = re.compile(r"(^|_)(session|sess|s|client|http|http_client|requests)$")


def _jwt_call(name: str) -> bool:
    return name.startswith(_JWT_ROOTS) or name.rsplit(".", 1)[-1] in _SIGNATURE_VERBS


def _memo(kind: str, compute: Callable[[FileContext, Any], list[Switch]]) -> Any:
    """`compute(ctx, node)` once per node and file: CR0701 and CR0703 both ask."""

    def cached(ctx: FileContext, node: Any) -> list[Switch]:
        key = (kind, node)
        found = ctx.cache.get(key)
        if found is None:
            found = ctx.cache[key] = compute(ctx, node)
        return found  # type: ignore[return-value]

    cached.__doc__ = compute.__doc__
    return cached


# The last part of the callee names `_call_switches` accepts without keyword arguments.
_CALLEE_TAILS = frozenset({n.rsplit(".", 1)[-1] for n in UNVERIFIED_FACTORIES} | {"set_verify"})


def _call_switches(ctx: FileContext, call: ast.Call) -> list[Switch]:
    """The verification switches among the arguments of `call`."""
    out: list[Switch] = []
    func = call.func
    if (
        not call.keywords
        and isinstance(func, ast.Attribute)
        and not (isinstance(func.value, ast.Name) and func.value.id == "self")
        and func.attr not in _CALLEE_TAILS
    ):
        # Most calls: no keyword, and a callee that cannot be a factory or `set_verify`
        # (the name of ``x.attr(...)`` ends with ``.attr`` unless `x` is ``self``, whose
        # attributes resolve to what was assigned to them): spare the name resolution.
        return out
    name = ctx.call_name(call) or ""
    if name in UNVERIFIED_FACTORIES:
        out.append(Switch(call, call, f"{name}()", _always))
    if name.rsplit(".", 1)[-1] == "set_verify" and call.args:
        # pyOpenSSL: Context.set_verify(mode, callback)
        out.append(Switch(call.args[0], call.args[0], "set_verify()", _is_verify_none))
    if not call.keywords:
        return out
    helper_parameters = _helper_parameters(ctx, call)
    server = (
        _SERVERISH.search(name) is not None
        or any(k.arg == "server_side" and is_true(ctx, k.value) for k in call.keywords)
        or server_module(ctx)
    )
    jwt = _jwt_call(name)
    for kw in call.keywords:
        arg, value = kw.arg, kw.value
        if arg is None or arg in helper_parameters:
            # A parameter of a function or method of this module: the argument reaches
            # the real switch inside it, which is where the finding belongs.
            continue
        if arg == "verify":
            if jwt:
                out.append(Switch(value, value, "verify=", is_false, tls=False))
            else:
                out.append(Switch(value, value, "verify=", is_false, path_ok=True))
        elif arg in _CERT_REQS:
            if not server:
                off = _cert_none_or_none if arg == "ssl_cert_reqs" else is_cert_none
                out.append(Switch(value, value, f"{arg}=", off))
        elif (polarity := keyword_polarity(arg)) is not None:
            out.append(Switch(value, value, f"{arg}=", polarity, tls=not jwt))
        elif arg == "ssl" and (name.startswith("aiohttp.") or imports_module(ctx, "aiohttp")):
            out.append(Switch(value, value, "ssl=", is_false))
        elif arg == "options" and jwt:
            out.extend(_jwt_options(ctx, value))
        elif not server and mentions(ctx, b"CERT_NONE"):
            out.append(Switch(value, value, f"{arg}=", _is_ssl_cert_none, configurable=False))
    return out


def _helper_parameters(ctx: FileContext, call: ast.Call) -> set[str]:
    """The parameter names of the functions and methods of this module that `call` may
    invoke (by name: ``fetch(...)``, ``client.fetch(...)``, ``self.fetch(...)``)."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    qualified = ctx.call_name(call) or ""
    roots = _import_roots(ctx)
    if name is None or qualified.split(".")[0] in roots:
        # A library's function (`requests.get`, `session.get` of a Session), or the
        # parent class's method that this module's override calls.
        return set()
    out: set[str] = set()
    for function in ctx.functions.get(name, []):
        a = function.args
        out.update(x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs))
    return out


def _import_roots(ctx: FileContext) -> set[str]:
    key = ("import_roots",)
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = {v.split(".")[0] for v in ctx.imports.values()} | {"super"}
    return found  # type: ignore[return-value]


def _jwt_options(ctx: FileContext, options: ast.AST) -> Iterator[Switch]:
    for value in ctx.values(options):
        if not isinstance(value, ast.Dict):
            continue
        for key, item in zip(value.keys, value.values, strict=True):
            if isinstance(key, ast.Constant) and key.value in _JWT_VERIFY_KEYS:
                yield Switch(item, item, f'options["{key.value}"]', is_false, tls=False)


_HTTP_CLIENTS = ("requests", "httpx", "boto3", "botocore", "urllib3", "aiohttp", "hvac")


def _dict_switches(ctx: FileContext, node: ast.Dict) -> list[Switch]:
    """Switches given as dictionary entries: ``sslopt={"cert_reqs": ssl.CERT_NONE}``
    (websocket-client), ``client_kwargs = {"verify": False}`` later passed as
    ``**kwargs``. A bare ``"verify"`` key counts only in a module that uses an HTTP
    client, where that is what it means; ``cert_reqs`` keys in a module of a server
    (uvicorn, gunicorn...) are about client certificates."""
    out: list[Switch] = []
    http: bool | None = None
    for key, value in zip(node.keys, node.values, strict=True):
        name = _const(key) if key is not None else None
        if not isinstance(name, str):
            continue
        if name == "verify":
            if http is None:
                http = any(imports_module(ctx, root) for root in _HTTP_CLIENTS)
            if http:
                out.append(Switch(value, value, '"verify":', is_false, path_ok=True))
        elif name in _CERT_REQS:
            if not server_module(ctx):
                off = _cert_none_or_none if name == "ssl_cert_reqs" else is_cert_none
                out.append(Switch(value, value, f'"{name}":', off))
        elif (polarity := keyword_polarity(name)) is not None:
            out.append(Switch(value, value, f'"{name}":', polarity))
    return out


def _assign_switches(ctx: FileContext, node: ast.Assign | ast.AnnAssign) -> list[Switch]:
    """The verification switches set by an assignment statement."""
    if node.value is None:
        return []
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    out: list[Switch] = []
    value = node.value
    for target in targets:
        if isinstance(target, ast.Attribute):
            attr = target.attr
            if attr in ("verify_mode", "check_hostname") and (
                _is_self(target.value) or server_context(ctx, target.value)
            ):
                # `self.check_hostname = False` defines a context-like class's own
                # attribute; server contexts do not verify clients by default.
                continue
            if attr == "verify_mode":
                out.append(Switch(target, value, ".verify_mode", is_cert_none))
            elif attr == "check_hostname":
                out.append(Switch(target, value, ".check_hostname", is_false))
            elif attr == "verify" and _sessionish(ctx, target.value):
                out.append(Switch(target, value, ".verify", is_false, path_ok=True))
            elif attr in ("verify_ssl", "ssl_verify", "verify_certs", "assert_hostname"):
                # On `self` it only stores this class's option; the switch is where the
                # option is passed to a client (a `verify_ssl=` keyword, say).
                if not _is_self(target.value):
                    out.append(Switch(target, value, f".{attr}", is_false))
            elif (
                attr == "_create_default_https_context"
                and ctx.qualname(target) == "ssl._create_default_https_context"
            ):
                out.append(
                    Switch(
                        target, value, "ssl._create_default_https_context", _is_unverified_factory
                    )
                )
        elif isinstance(target, ast.Subscript) and ctx.qualname(target.value) == "os.environ":
            key = _const(target.slice)
            if key == "PYTHONHTTPSVERIFY":  # PEP 493: "0" turns verification off globally
                out.append(Switch(target, value, "PYTHONHTTPSVERIFY", _zero, configurable=False))
            elif key in ("CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"):
                # requests treats an empty bundle path as verify=False
                out.append(Switch(target, value, str(key), _empty, configurable=False))
    return out


call_switches: Callable[[FileContext, ast.Call], list[Switch]] = _memo(
    "call_switches", _call_switches
)


dict_switches: Callable[[FileContext, ast.Dict], list[Switch]] = _memo(
    "dict_switches", _dict_switches
)


assign_switches: Callable[[FileContext, ast.Assign | ast.AnnAssign], list[Switch]] = _memo(
    "assign_switches", _assign_switches
)


def _zero(ctx: FileContext, v: ast.AST) -> bool:
    return _const(v) in ("0", 0)


def _empty(ctx: FileContext, v: ast.AST) -> bool:
    return _const(v) == ""


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _sessionish(ctx: FileContext, receiver: ast.AST) -> bool:
    name = ctx.qualname(receiver) or ""
    if name.startswith(("requests.", "httpx.")):
        return True
    return bool(_SESSIONISH.search(identifier(receiver) or ""))


def server_context(ctx: FileContext, receiver: ast.AST) -> bool:
    """Whether `receiver` is an SSL context for the server side of a connection, where
    ``CERT_NONE`` only means that no client certificate is requested."""
    if "server" in (identifier(receiver) or ""):
        return True
    for value in ctx.values(receiver):
        if not isinstance(value, ast.Call):
            continue
        for arg in (*value.args, *(k.value for k in value.keywords)):
            name = ctx.qualname(arg) or ""
            if name.endswith(("PROTOCOL_TLS_SERVER", "Purpose.CLIENT_AUTH")):
                return True
    return False
