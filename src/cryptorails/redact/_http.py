"""HTTP-shaped secrets in telemetry: credential headers, URL parameters, header capture.

Nothing here imports OpenTelemetry: the exporter wrapper (`_otel`) uses these helpers,
and `safe_header_capture` only edits environment variables that the OpenTelemetry HTTP
instrumentations read.
"""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from urllib.parse import unquote_plus

from cryptorails.redact._names import normalize_name
from cryptorails.redact._policy import RedactionPolicy

__all__ = [
    "SENSITIVE_HEADERS",
    "SENSITIVE_QUERY_PARAMETERS",
    "is_credential_header_attribute",
    "redact_url",
    "safe_header_capture",
]

# Headers that carry credentials on every request (RFC 9110 §11.6.2 Authorization,
# §11.7.2 Proxy-Authorization; RFC 6265 Cookie and Set-Cookie).
SENSITIVE_HEADERS: tuple[str, ...] = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
)
_HEADER_NAMES = frozenset(normalize_name(h) for h in SENSITIVE_HEADERS)
_HEADER_PREFIXES = ("http.request.header.", "http.response.header.")

# Query (and fragment) parameters that carry credentials: OAuth 2.0 (RFC 6749 §4.1.2
# code, §4.2.2 access_token in the fragment; RFC 6750 §2.3 access_token), OpenID Connect
# id_token, API keys, pre-signed URLs (AWS SigV4 and SigV2, Google Cloud Storage, Azure
# SAS `sig`), and passwords sent as parameters.
SENSITIVE_QUERY_PARAMETERS: frozenset[str] = frozenset(
    {
        "access_token",
        "id_token",
        "refresh_token",
        "token",
        "code",
        "api_key",
        "apikey",
        "key",
        "signature",
        "sig",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "awsaccesskeyid",
        "x-goog-signature",
        "x-goog-credential",
        "client_secret",
        "password",
    }
)
# Attributes that hold a URL or part of one (OpenTelemetry semantic conventions, current
# and older names). `url.query` holds the query alone, without the "?".
URL_ATTRIBUTES = frozenset({"url.full", "http.url", "http.target"})
QUERY_ATTRIBUTES = frozenset({"url.query"})

_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#@]*)@")
_PARAM_SEPARATORS = re.compile(r"([&;])")

_CAPTURE_VARIABLES = (
    "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST",
    "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE",
    "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST",
    "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_RESPONSE",
)
_SANITIZE_VARIABLE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"
# Matches the credential headers, whatever their case (the instrumentations compile the
# lists with re.IGNORECASE) and whether the server spells them with "-" or "_" (WSGI).
_NOT_CREDENTIAL = r"(?!(?:proxy[-_]authorization|authorization|set[-_]cookie|cookie)$)"


def is_credential_header_attribute(key: str) -> bool:
    """Whether `key` is a captured Authorization, Proxy-Authorization, Cookie or Set-Cookie.

    OpenTelemetry names captured headers ``http.request.header.<name>`` and
    ``http.response.header.<name>``; the name is compared in any case and with ``-`` or
    ``_``.
    """
    lowered = key.lower()
    for prefix in _HEADER_PREFIXES:
        if lowered.startswith(prefix):
            return normalize_name(key[len(prefix) :]) in _HEADER_NAMES
    return False


def redact_url(policy: RedactionPolicy, url: str, *, query_only: bool = False) -> str:
    """`url` with credential parameter values and the userinfo password masked.

    Only the value of a parameter is replaced (``access_token=[REDACTED:query-param:…]``);
    its name and the rest of the URL stay readable. Parameters count as credentials if
    their name (percent-decoded, any case) is in `SENSITIVE_QUERY_PARAMETERS` or is
    denied by the policy's name rule. The fragment is treated like the query, since the
    OAuth implicit flow returns tokens there.

    Args:
        policy: gives the masks and the name rule.
        url: a URL, a request target (path and query) or, with `query_only`, a query.
        query_only: `url` is a query string without the leading ``?``.
    """
    if query_only:
        return _params(policy, url)
    if "?" not in url and "#" not in url and "@" not in url:
        return url
    head, hash_, fragment = url.partition("#")
    base, question, query = head.partition("?")
    match = _USERINFO.match(base)
    if match is not None and ":" in match.group(2):
        user, _, password = match.group(2).partition(":")
        masked = policy.mask("url-password", unquote_plus(password))
        base = f"{match.group(1)}{user}:{masked}@{base[match.end() :]}"
    if question:
        query = _params(policy, query)
    if hash_ and "=" in fragment:
        fragment = _params(policy, fragment)
    return f"{base}{question}{query}{hash_}{fragment}"


def _params(policy: RedactionPolicy, query: str) -> str:
    parts = _PARAM_SEPARATORS.split(query)
    for i in range(0, len(parts), 2):
        name, eq, value = parts[i].partition("=")
        if not eq or not value:
            continue
        decoded = unquote_plus(name)
        if decoded.lower() in SENSITIVE_QUERY_PARAMETERS or policy.denies_name(decoded):
            parts[i] = f"{name}={policy.mask('query-param', unquote_plus(value))}"
    return "".join(parts)


def safe_header_capture(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Make the OpenTelemetry HTTP instrumentations' header capture safe for credentials.

    Call it before the instrumentations are set up (they read these variables then).

    * ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS`` gets Authorization,
      Proxy-Authorization, Cookie and Set-Cookie added to what it already lists, so their
      values are captured as ``[REDACTED]`` if they are captured at all.
    * In the four capture lists (``..._SERVER_REQUEST``, ``..._SERVER_RESPONSE``,
      ``..._CLIENT_REQUEST``, ``..._CLIENT_RESPONSE``) entries naming one of those headers
      are removed, and entries that are patterns matching one of them (``.*``,
      ``auth.*``) are narrowed with a negative lookahead so they no longer do. Two
      independent guards, in case one instrumentation honours only one of them.

    Args:
        environ: the variables to edit (`os.environ` by default).

    Returns:
        The variables it changed, with their new values (empty if all was safe already).
    """
    env = os.environ if environ is None else environ
    changed: dict[str, str] = {}
    current = env.get(_SANITIZE_VARIABLE, "")
    entries = [e.strip() for e in current.split(",") if e.strip()]
    present = {e.lower() for e in entries}
    missing = [h for h in SENSITIVE_HEADERS if h not in present]
    if missing:
        changed[_SANITIZE_VARIABLE] = ",".join([*entries, *missing])
    for variable in _CAPTURE_VARIABLES:
        value = env.get(variable)
        if not value:
            continue
        narrowed = _narrow(value)
        if narrowed != value:
            changed[variable] = narrowed
    for variable, value in changed.items():
        env[variable] = value
    return changed


def _narrow(capture: str) -> str:
    """A capture list that no longer matches any credential header."""
    kept: list[str] = []
    modified = False
    for raw in capture.split(","):
        entry = raw.strip()
        if not entry or not _matches_credential_header(entry):
            kept.append(raw)
            continue
        modified = True
        if entry.lower().replace("_", "-") not in SENSITIVE_HEADERS:
            kept.append(f"{_NOT_CREDENTIAL}(?:{entry})")
        # else: the entry names a credential header; it is dropped.
    return ",".join(kept) if modified else capture


def _matches_credential_header(entry: str) -> bool:
    try:
        pattern = re.compile(entry, re.IGNORECASE)
    except re.error:
        return False  # not ours to fix; the instrumentation reports it
    return any(
        pattern.fullmatch(h) or pattern.fullmatch(h.replace("-", "_")) for h in SENSITIVE_HEADERS
    )
