"""Component values (RFC 9421 §2.1, §2.2) and the signature base (§2.5).

Supported: header fields by name (no parameters), and the derived components
``@method``, ``@target-uri``, ``@authority``, ``@scheme``, ``@request-target``,
``@path``, ``@query``, ``@query-param`` (with its required ``name``) and ``@status``.
The field parameters ``sf``, ``key``, ``bs``, ``req`` and ``tr`` are refused, as is any
other parameter: a component this module cannot compute exactly is never guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import SplitResult, unquote_to_bytes, urlsplit

from cryptorails.errors import Reason
from cryptorails.httpsig._message import HttpMessage
from cryptorails.httpsig._sf import InnerList, Item, serialize_inner_list, serialize_item

__all__ = ["ComponentError", "component_values", "field_value", "signature_base"]

DERIVED = frozenset(
    {
        "@method",
        "@target-uri",
        "@authority",
        "@scheme",
        "@request-target",
        "@path",
        "@query",
        "@query-param",
        "@status",
    }
)
_REQUEST_ONLY = DERIVED - {"@status"}
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
_OBS_FOLD = re.compile(r"\r?\n[ \t]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# application/x-www-form-urlencoded leaves only these bytes unencoded (WHATWG URL
# §5.2, the urlencoded percent-encode set); RFC 9421 §2.2.8 re-encodes with that set,
# writing a space as %20.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")


class ComponentError(ValueError):
    """A component cannot be computed for this message; `reason` says why."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _form_reencode(raw: str) -> str:
    # RFC 9421 §2.2.8: parse as application/x-www-form-urlencoded ('+' is a space, then
    # percent-decoding), re-encode with the urlencoded percent-encode set. The decoded
    # bytes are re-encoded as they are, with no UTF-8 decoding in between: a decoder that
    # replaces invalid sequences would map different queries (%FE, %FF) to the same
    # value, so a signature over one would verify for the other. For valid UTF-8 the
    # result is the RFC's.
    data = unquote_to_bytes(raw.replace("+", " "))
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in data)


def field_value(message: HttpMessage, name: str) -> str:
    """The value of field `name` as RFC 9421 §2.1 defines it: every field line's value,
    obs-fold replaced by one space, trimmed, joined with ", " in order.

    Raises:
        ComponentError: MISSING_HEADER when the message has no such field.
    """
    lines = message.header_lines(name)
    if not lines:
        raise ComponentError(Reason.MISSING_HEADER, f"the message has no {name} field")
    return ", ".join(_OBS_FOLD.sub(" ", line).strip(" \t") for line in lines)


def _query_param(query: str, wanted: str) -> str:
    # WHATWG URL §5.1: the query splits on '&', empty sequences are skipped, and a name
    # ends at the first '='. Names are compared in their re-encoded form, which is how
    # the `name` parameter is written (§2.2.8), so `%70aram` and `param` are one name.
    found: str | None = None
    for pair in query.split("&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition("=")
        if _form_reencode(raw_name) != wanted:
            continue
        if found is not None:
            # §2.2.8: a parameter that occurs more than once is not signed or verified
            # (which occurrence the application reads is not known here).
            raise ComponentError(Reason.MALFORMED, f"query parameter {wanted!r} repeated")
        found = _form_reencode(raw_value)
    if found is None:
        raise ComponentError(Reason.MISSING_HEADER, f"no query parameter {wanted!r}")
    return found


def _authority(parts: SplitResult) -> str:
    if "@" in parts.netloc:
        raise ComponentError(Reason.MALFORMED, "an authority with userinfo")
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        # Not digits, or outside 0-65535 (`a:xyz`, `a:-1`, `[::1]:99999`): attacker
        # input, so the documented failure, never an exception the caller did not expect.
        raise ComponentError(Reason.MALFORMED, "the authority has an invalid port") from None
    default = _DEFAULT_PORTS.get(parts.scheme.lower())
    return host if port is None or port == default else f"{host}:{port}"


def _derived(message: HttpMessage, name: str, params: Mapping[str, object]) -> list[str]:
    if name in _REQUEST_ONLY and not message.is_request:
        raise ComponentError(Reason.MALFORMED, f"{name} exists only in requests")
    if name == "@status":
        if message.status is None:
            raise ComponentError(Reason.MALFORMED, "@status exists only in responses")
        return [f"{message.status:03d}"]
    if name == "@method":
        assert message.method is not None
        return [message.method]
    assert message.target_uri is not None
    if name == "@target-uri":
        return [message.target_uri]
    parts = urlsplit(message.target_uri)
    path = parts.path or "/"
    if name == "@scheme":
        return [parts.scheme.lower()]
    if name == "@authority":
        return [_authority(parts)]
    if name == "@path":
        return [path]
    if name == "@query":
        return ["?" + parts.query]
    if name == "@request-target":
        return [path + ("?" + parts.query if parts.query else "")]
    # @query-param
    wanted = params.get("name")
    if not isinstance(wanted, str):
        raise ComponentError(Reason.MALFORMED, "@query-param needs a name parameter")
    return [_query_param(parts.query, wanted)]


def component_values(message: HttpMessage, component: Item) -> list[str]:
    """The value(s) of one component: one line each in the signature base.

    Raises:
        ComponentError: unsupported, malformed, or absent from the message.
    """
    name = component.value
    if not isinstance(name, str):
        raise ComponentError(Reason.MALFORMED, "a component identifier is a string")
    params = dict(component.params)
    if name.startswith("@"):
        if name not in DERIVED:
            raise ComponentError(Reason.UNSUPPORTED_COMPONENT, f"unknown component {name}")
        allowed = {"name"} if name == "@query-param" else set()
        if set(params) - allowed:
            raise ComponentError(Reason.UNSUPPORTED_COMPONENT, f"parameters on {name}")
        values = _derived(message, name, params)
    else:
        if _FIELD_NAME.fullmatch(name) is None:
            raise ComponentError(Reason.MALFORMED, "field names are lowercase tokens")
        if params:
            # sf, key, bs, req, tr: not implemented, so refused rather than ignored.
            raise ComponentError(
                Reason.UNSUPPORTED_COMPONENT, f"field parameters {sorted(params)} on {name}"
            )
        values = [field_value(message, name)]
    for value in values:
        if not value.isascii() or "\r" in value or "\n" in value:
            raise ComponentError(Reason.MALFORMED, f"{name} is not single-line ASCII")
    return values


def signature_base(message: HttpMessage, params: InnerList) -> bytes:
    """The signature base of §2.5 for the covered components and parameters in `params`.

    Raises:
        ComponentError: a component is duplicated, unsupported or missing.
    """
    lines: list[str] = []
    seen: set[str] = set()
    for component in params.items:
        identifier = serialize_item(component)
        if identifier in seen or component.value == "@signature-params":
            raise ComponentError(Reason.MALFORMED, f"component {identifier} listed twice")
        seen.add(identifier)
        for value in component_values(message, component):
            lines.append(f"{identifier}: {value}\n")
    lines.append('"@signature-params": ' + serialize_inner_list(params))
    return "".join(lines).encode("ascii")
