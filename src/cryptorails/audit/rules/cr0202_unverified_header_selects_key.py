"""CR0202: a key or algorithm chosen by the token's unverified header."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import identifier, is_secret_name
from cryptorails.audit.rules._jwt import (
    HEADER_FIELDS,
    algorithm_names,
    algorithms_arg,
    decode_flavor,
    families,
    from_unverified_header,
    header_field,
    verification_off,
)
from cryptorails.audit.rules._secret_use import reads, reads_in

_PATH_CALLS = frozenset(
    {"open", "io.open", "codecs.open", "pathlib.Path", "os.path.join", "os.path.exists"}
)
_PATH_METHODS = frozenset({"joinpath", "read_text", "read_bytes", "open"})
_DB_METHODS = frozenset(
    {"execute", "executemany", "raw", "filter", "filter_by", "find_one", "find", "fetchrow"}
    | {"fetchval", "fetch", "get_item", "where", "select", "query", "get"}
)
_LOOKUP_METHODS = frozenset({"get", "get_key", "find_key", "lookup", "key", "pop"})
_ONE_KEYSET = re.compile(r"(^|_)(jwks|jwk_set|keyset|key_set|jwks_client)($|_)")
_ACROSS = re.compile(r"(^|_)(tenants?|orgs?|organizations?|customers?|accounts?|all|global)($|_)")
_SCOPE_ARGS = re.compile(r"tenant|org|issuer|iss|account|customer|client|realm|owner|audience")
_FETCH = ("requests.", "httpx.", "urllib.request.urlopen", "aiohttp.", "jwt.PyJWKClient")
_ALGORITHM_LOOKUPS = ("get_algorithm_by_name", "get_default_algorithms")
_STRING_METHODS = frozenset({"format", "encode", "decode", "lower", "upper", "strip"})
_MAX_HOPS = 3


@rule(
    code="CR0202",
    name="unverified-header-selects-key",
    case=2,
    severity=Severity.HIGH,
    cwe=347,
    nodes=(ast.Subscript, ast.Call),
    requires=[
        [
            *("get_unverified", "jose_header", "decode_complete"),
            *("b64decode", "base64url_decode", "b64url_decode", "urlsafe_b64"),
        ],
        # `header_field`: a field name as a literal subscript or ``.get`` argument.
        [f"{quote}{field}{quote}" for field in sorted(HEADER_FIELDS) for quote in "'\""],
    ],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds keys and algorithms chosen by fields of a JWT header read before verification.

    ## What it does
    Follows ``kid``, ``alg``, ``jku``, ``x5u``, ``jwk`` and ``x5c`` read from an unverified
    header (`jwt.get_unverified_header`, python-jose's equivalents, jwcrypto's
    ``jose_header``, or base64-decoding the first segment by hand) and reports where they
    choose the verification: ``kid`` in a file path, a database query without a tenant
    or issuer condition, a lookup in a key store that spans tenants, or a key lookup
    whose verification does not pin one algorithm family; ``alg`` passed as the
    algorithm (``algorithms=[alg]``, `get_algorithm_by_name`) or deciding which key to
    use; ``jku``/``x5u``/``jwk``/``x5c`` used to fetch or build the key. Looking a
    ``kid`` up inside one issuer's JWKS with pinned algorithms (the PyJWKClient pattern)
    is the intended use and is not reported.

    ## Why is this bad?
    The header is written by whoever made the token. A ``kid`` of
    ``../../dev/null`` or a SQL fragment turns a path or query into a key the attacker
    knows; a ``kid`` naming another tenant's key makes that tenant's tokens valid here;
    an ``alg`` from the header re-opens RS256→HS256 confusion; a ``jku`` lets the token
    bring its own key.

    ## Example
    ```python
    kid = jwt.get_unverified_header(token)["kid"]
    key = open(f"/etc/keys/{kid}.pem").read()
    claims = jwt.decode(token, key, algorithms=["RS256"])
    ```

    ## Use instead
    `cryptorails.TokenVerifier` over one `cryptorails.Jwks` or keyset per trusted issuer
    (`cryptorails.TrustedIssuers` picks the issuer from server state): ``kid`` is only a
    hint inside that one set and each key carries its own algorithm.

    ## References
    - RFC 7515 §4.1.2-4.1.4 (jku, jwk, kid); RFC 8725 §3.10 (do not trust jku/x5u)
    - CVE-2018-0114 (embedded jwk accepted), CVE-2017-11424
    - CWE-347: Improper Verification of Cryptographic Signature
    """
    field = header_field(node, ctx)
    if field is None:
        return
    sink = _Follow(ctx, field).follow(node, 0)
    if sink is not None:
        where, message = sink
        yield ctx.report(where, f"`{field}` from the unverified JWT header {message}")


class _Follow:
    def __init__(self, ctx: FileContext, field: str) -> None:
        self.ctx = ctx
        self.field = field
        self.seen: set[int] = set()

    def follow(self, node: ast.AST, hops: int) -> tuple[ast.AST, str] | None:
        ctx = self.ctx
        child, parent = node, ctx.parent(node)
        while parent is not None and id(child) not in self.seen:
            self.seen.add(id(child))
            if isinstance(parent, ast.BinOp | ast.JoinedStr | ast.FormattedValue):
                pass
            elif isinstance(parent, ast.List | ast.Tuple | ast.Set | ast.IfExp | ast.BoolOp):
                if isinstance(parent, ast.IfExp) and child is parent.test:
                    return self._chooses_key(parent)
            elif isinstance(parent, ast.Subscript):
                if child is parent.slice:
                    return self._lookup(parent, parent.value)
            elif isinstance(parent, ast.keyword | ast.Call):
                return self._argument(parent, child, hops)
            elif isinstance(parent, ast.Attribute):
                call = ctx.parent(parent)
                if not (isinstance(call, ast.Call) and call.func is parent):
                    return None
                if parent.attr in _PATH_METHODS and self.field == "kid":
                    return call, "is used in a key file path"
                if parent.attr in ("startswith", "endswith"):
                    return self._compared(call)
                if parent.attr not in _STRING_METHODS:
                    return None
                parent = call
            elif isinstance(parent, ast.Compare):
                return self._compared(parent)
            elif isinstance(parent, ast.Assign | ast.AnnAssign | ast.NamedExpr):
                target = parent.targets[0] if isinstance(parent, ast.Assign) else parent.target
                if not isinstance(target, ast.Name) or hops >= _MAX_HOPS:
                    return None
                for use in reads(ctx, target):
                    found = self.follow(use, hops + 1)
                    if found:
                        return found
                return None
            else:
                return None
            child, parent = parent, ctx.parent(parent)
        return None

    def _argument(self, parent: ast.AST, child: ast.AST, hops: int) -> tuple[ast.AST, str] | None:
        ctx = self.ctx
        keyword = parent if isinstance(parent, ast.keyword) else None
        call = ctx.parent(parent) if keyword is not None else parent
        if not isinstance(call, ast.Call) or child is call.func:
            return None
        name = ctx.call_name(call) or ""
        method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        if self.field == "alg":
            if (
                keyword is not None
                and keyword.arg == "algorithms"
                and decode_flavor(call, ctx)
                and verification_off(call, ctx) is None  # then no algorithm is used (CR0204)
            ):
                return call, "is the accepted algorithm (algorithms=)"
            if name.endswith(_ALGORITHM_LOOKUPS):
                return call, "picks the verification algorithm"
        elif self.field in ("jku", "x5u", "jwk", "x5c"):
            if name.startswith(_FETCH) or "from_jwk" in name or "PyJWK" in name:
                return call, "supplies the verification key"
        elif name in _PATH_CALLS or method in _PATH_METHODS:
            return call, "is used in a key file path"
        elif keyword is not None and method in _DB_METHODS and keyword.arg:
            others = [k.arg or "" for k in call.keywords if k is not keyword]
            if not any(_SCOPE_ARGS.search(o) for o in others):
                return call, "selects a key in a query with no tenant or issuer condition"
        elif method == "execute" or method == "raw":
            sql = ast.unparse(call.args[0]).lower() if call.args else ""
            if not _SCOPE_ARGS.search(sql):
                return call, "selects a key in a query with no tenant or issuer condition"
        elif method in _LOOKUP_METHODS and keyword is None and isinstance(call.func, ast.Attribute):
            return self._lookup(call, call.func.value)
        if name == "str" or method in _STRING_METHODS:
            return self.follow(call, hops)
        function = ctx.local_function(call)
        if function is not None and hops < _MAX_HOPS and keyword is None:
            position = next((i for i, a in enumerate(call.args) if a is child), None)
            params = [*function.args.posonlyargs, *function.args.args]
            if params and params[0].arg in ("self", "cls") and isinstance(call.func, ast.Attribute):
                params = params[1:]
            if position is not None and position < len(params):
                for use in reads_in(ctx, function, params[position].arg):
                    found = self.follow(use, hops + 1)
                    if found:
                        return found
        return None

    def _lookup(self, where: ast.AST, container: ast.AST) -> tuple[ast.AST, str] | None:
        if self.field != "kid":
            return None
        name = identifier(container) or ""
        if isinstance(container, ast.Subscript | ast.Call) and not _ACROSS.search(name):
            return None  # already narrowed to one keyset (KEYS[tenant][kid])
        if _ACROSS.search(name):
            return where, "selects a key across tenants"
        if _ONE_KEYSET.search(name):
            return None
        if _pinned(where, self.ctx):
            return None
        return where, "selects the key, and the verification does not pin one algorithm family"

    def _compared(self, compare: ast.expr) -> tuple[ast.AST, str] | None:
        if self.field == "kid":
            for loop in self.ctx.ancestors(compare):
                if isinstance(loop, ast.For | ast.AsyncFor | ast.comprehension):
                    text = ast.unparse(loop.target) + " " + ast.unparse(loop.iter)
                    if _ACROSS.search(re.sub(r"[^a-z0-9]+", "_", text.lower())):
                        return compare, "is searched for across every tenant's keys"
            return None
        if self.field != "alg":
            return None
        holder = self.ctx.parent(compare)
        while isinstance(holder, ast.BoolOp | ast.UnaryOp):
            holder = self.ctx.parent(holder)
        if isinstance(holder, ast.If | ast.IfExp) and any(
            n is compare for n in ast.walk(holder.test)
        ):
            return self._chooses_key(holder)
        return None

    def _chooses_key(self, branch: ast.If | ast.IfExp) -> tuple[ast.AST, str] | None:
        """The alg decides which key verifies: ``key = SECRET if alg == "HS256" else PUB``."""
        if self.field != "alg":
            return None
        if isinstance(branch, ast.IfExp):
            parent = self.ctx.parent(branch)
            targets = parent.targets if isinstance(parent, ast.Assign) else []
            if any(_keyish(t) for t in targets):
                return branch, "decides which key verifies the token"
            return None
        for statement in [*branch.body, *branch.orelse]:
            if isinstance(statement, ast.Assign) and any(_keyish(t) for t in statement.targets):
                return branch, "decides which key verifies the token"
        return None


def _keyish(target: ast.AST) -> bool:
    name = identifier(target)
    return bool(name) and (is_secret_name(name) or "key" in (name or "") or "pem" in (name or ""))


def _pinned(where: ast.AST, ctx: FileContext) -> bool:
    """Every JWT decode of the function (or, if it has none, the module) pins algorithms
    of one family, not taken from the header."""
    function = ctx.enclosing_function(where)
    scope: ast.AST = function if function is not None else ctx.tree
    calls = [n for n in ast.walk(scope) if isinstance(n, ast.Call) and decode_flavor(n, ctx)]
    if not calls and function is not None:
        calls = [
            n
            for n in ctx.by_type.get(ast.Call, ())
            if isinstance(n, ast.Call) and decode_flavor(n, ctx)
        ]
    if not calls:
        return False
    for call in calls:
        algorithms = algorithms_arg(call)
        if algorithms is None or from_unverified_header(algorithms, ctx):
            return False
        names = algorithm_names(algorithms, ctx)
        if names is not None and (not names or len(families(names) - {"none"}) > 1):
            return False
    return True
