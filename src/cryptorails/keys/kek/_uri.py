"""`open_kek` and `open_tenant_keks`: a KEK, or a per-tenant KEK provider, from one string.

The forms (the CLI's ``--kek`` takes the same strings):

* a file path: `LocalKek.from_file`;
* ``pkcs11:token=<token>;object=<key label>?module-path=<library>&pin-source=env:<NAME>``
  (an RFC 7512 PKCS #11 URI; ``pin-source=file:/path`` works too): `Pkcs11Kek`;
* ``aws-kms:<key id, key ARN, alias/name or alias ARN>?region=<region>&endpoint=<url>``
  (both parameters optional): `AwsKmsKek`.

For tenant KEKs, ``object=`` names the label prefix and the AWS form takes an alias
prefix: ``aws-kms:alias/<prefix>``. A PIN is never accepted inside a URI (``pin-value``):
URIs end up in shell history, process lists and logs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote_to_bytes

from cryptorails.errors import ConfigurationError
from cryptorails.keys.kek._aws import AwsKmsKek
from cryptorails.keys.kek._aws_tenants import AwsKmsTenantKeks
from cryptorails.keys.kek._base import Kek, TenantKeks, read_private_file
from cryptorails.keys.kek._local import LocalKek
from cryptorails.keys.kek._pkcs11 import Pkcs11Kek, Pkcs11TenantKeks
from cryptorails.secret import Secret

__all__ = ["open_kek", "open_tenant_keks"]

_PKCS11_FORM = (
    "pkcs11:token=<token label>;object=<{what}>?module-path=<PKCS#11 library>"
    "&pin-source=env:<VARIABLE> (or pin-source=file:<path>)"
)
_SPEC_FORMS = (
    "a KEK file path; "
    + _PKCS11_FORM.format(what="key label")
    + "; or aws-kms:<key id, ARN or alias/name>[?region=<region>][&endpoint=<URL>]"
)
_TENANT_SPEC_FORMS = (
    _PKCS11_FORM.format(what="key label prefix")
    + "; or aws-kms:alias/<alias prefix>[?region=<region>][&endpoint=<URL>]"
)

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
# RFC 7512 §2.3: pk11-pchar and pk11-qchar (unreserved, the specials, pct-encoded).
_PCHAR = re.compile(r"(?:[A-Za-z0-9\-._~:\[\]@!$'()*+,=]|%[0-9A-Fa-f]{2})*")
_QCHAR = re.compile(r"(?:[A-Za-z0-9\-._~:\[\]@!$'()*+,=/?|]|%[0-9A-Fa-f]{2})*")
_ATTR_NAME = re.compile(r"[A-Za-z0-9_-]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z0-9]+)+")
_PIN_FILE_MAX = 4096


def _bad(spec_kind: str, problem: str, forms: str) -> ConfigurationError:
    return ConfigurationError(f"{spec_kind}: {problem}. Accepted: {forms}")


def _decode(raw: str, where: str, forms: str) -> str:
    """Percent-decode an RFC 7512 value (already checked against the character set)."""
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(where, "percent-encoded bytes that are not UTF-8", forms) from None


def _attributes(
    text: str, separator: str, chars: re.Pattern[str], where: str, forms: str
) -> dict[str, str]:
    """`name=value` pairs, each name at most once (RFC 7512 §2.3), values decoded."""
    found: dict[str, str] = {}
    if not text:
        return found
    for number, item in enumerate(text.split(separator), 1):
        name, eq, value = item.partition("=")
        if not eq or not _ATTR_NAME.fullmatch(name):
            # Not echoed: a mistyped item may be a secret.
            raise _bad(
                where, f"item {number} of {separator!r}-separated list is not name=value", forms
            )
        if not chars.fullmatch(value):
            raise _bad(
                where,
                f"the value of {name!r} has a character that must be percent-encoded, or a "
                "'%' not followed by two hex digits",
                forms,
            )
        if name in found:
            raise _bad(where, f"attribute {name!r} appears more than once", forms)
        found[name] = _decode(value, where, forms)
    return found


def _pin(source: str | None) -> Secret:
    where = "pkcs11 URI pin-source"
    if source is None:
        raise ConfigurationError(
            "the pkcs11 URI needs pin-source=env:<VARIABLE> or pin-source=file:<path> "
            "for the token's user PIN"
        )
    if source.startswith("env:"):
        name = source[4:]
        if not _ENV_NAME.fullmatch(name):
            raise ConfigurationError(f"{where}: {name!r} is not an environment variable name")
        value = os.environ.get(name)
        if not value:
            raise ConfigurationError(f"{where}: the environment variable {name} is not set")
        return Secret(value.encode("utf-8"))
    if source.startswith("file:"):
        path = source[5:]
        if path.startswith("//"):  # file://localhost/path or file:///path (RFC 8089)
            authority, _, rest = path[2:].partition("/")
            if authority not in ("", "localhost"):
                raise ConfigurationError(f"{where}: file URI of another host {authority!r}")
            path = "/" + rest
        if not path.startswith("/"):
            raise ConfigurationError(f"{where}: {source!r} must name an absolute path")
        return _pin_file(Path(path))
    raise ConfigurationError(f"{where} {source!r}: use env:<VARIABLE> or file:<absolute path>")


def _pin_file(path: Path) -> Secret:
    raw = read_private_file(path, "PIN file", _PIN_FILE_MAX)
    if len(raw) > _PIN_FILE_MAX:
        raise ConfigurationError(f"PIN file {path} is larger than {_PIN_FILE_MAX} bytes")
    pin = Secret(raw.reveal().removesuffix(b"\n").removesuffix(b"\r"))
    if not len(pin):
        raise ConfigurationError(f"PIN file {path} is empty")
    return pin


class _Pkcs11Spec(NamedTuple):
    module: str
    token_label: str
    object_label: str
    pin: Secret


def _pkcs11(spec: str, what: str, forms: str) -> _Pkcs11Spec:
    """The module path, token label, object label and PIN of an RFC 7512 URI."""
    where = "pkcs11 URI"
    body = spec.split(":", 1)[1]
    path_text, _, query_text = body.partition("?")
    path = _attributes(path_text, ";", _PCHAR, where, forms)
    query = _attributes(query_text, "&", _QCHAR, where, forms)
    for name in path:
        if name not in ("token", "object", "type"):
            raise _bad(where, f"path attribute {name!r} is not supported here", forms)
    if path.get("type", "secret-key") != "secret-key":
        raise _bad(where, f"type={path['type']!r}: a KEK is a secret-key object", forms)
    if "pin-value" in query:
        raise ConfigurationError(
            "pkcs11 URI: pin-value is refused: a PIN written into a URI ends up in shell "
            "history, process lists and logs. Put it in an environment variable "
            "(pin-source=env:<VARIABLE>) or a file only you can read (pin-source=file:<path>)"
        )
    if "module-name" in query:
        raise _bad(where, "module-name is not resolved; give module-path=<library path>", forms)
    for name in query:
        if name not in ("module-path", "pin-source"):
            raise _bad(where, f"query attribute {name!r} is not supported here", forms)
    for name, source in (("token", path), ("object", path), ("module-path", query)):
        if not source.get(name):
            raise _bad(where, f"{name}= is required ({what})", forms)
    pin = _pin(query.get("pin-source"))
    return _Pkcs11Spec(query["module-path"], path["token"], path["object"], pin)


def _aws(spec: str, forms: str) -> tuple[str, str | None, str | None]:
    """(key id, region, endpoint) from an aws-kms: spec."""
    where = "aws-kms spec"
    body = spec.split(":", 1)[1]
    key_text, _, query_text = body.partition("?")
    if not re.fullmatch(r"(?:[A-Za-z0-9:/_\-]|%[0-9A-Fa-f]{2})+", key_text) or key_text.startswith(
        "//"
    ):
        raise _bad(where, f"{key_text!r} is not a KMS key id, ARN or alias", forms)
    key_id = _decode(key_text, where, forms)
    params = _attributes(query_text, "&", _QCHAR, where, forms)
    for name in params:
        if name not in ("region", "endpoint"):
            raise _bad(where, f"parameter {name!r} is not supported (region=, endpoint=)", forms)
    region = params.get("region")
    if region is not None and not _REGION.fullmatch(region):
        raise _bad(where, f"{region!r} is not an AWS region name", forms)
    return key_id, region, params.get("endpoint")


def _scheme(spec: object) -> str | None:
    if not isinstance(spec, str):
        raise TypeError(f"a KEK spec is a str, not {type(spec).__name__}")
    match = _SCHEME.match(spec)
    return match.group(1).lower() if match else None


def open_kek(spec: str) -> Kek:
    """The KEK a spec names: a file path, a ``pkcs11:`` URI or an ``aws-kms:`` spec.

    Raises:
        ConfigurationError: a malformed or unsupported spec (the message lists the forms),
            or the KEK cannot be opened.
        TypeError: `spec` is not a str.
    """
    scheme = _scheme(spec)
    if not spec:
        raise ConfigurationError(f"empty KEK spec. Accepted: {_SPEC_FORMS}")
    if scheme == "pkcs11":
        p = _pkcs11(spec, "the key label", _SPEC_FORMS)
        return Pkcs11Kek(p.module, token_label=p.token_label, key_label=p.object_label, pin=p.pin)
    if scheme == "aws-kms":
        key_id, region, endpoint = _aws(spec, _SPEC_FORMS)
        return AwsKmsKek(key_id, region=region, endpoint_url=endpoint)
    if scheme is not None and not os.path.lexists(spec):
        raise ConfigurationError(f"unknown KEK scheme {scheme + ':'!r}. Accepted: {_SPEC_FORMS}")
    return LocalKek.from_file(spec)


def open_tenant_keks(spec: str) -> TenantKeks:
    """The per-tenant KEK provider a spec names (``pkcs11:`` or ``aws-kms:alias/...``).

    Raises:
        ConfigurationError: a malformed or unsupported spec (the message lists the forms),
            or the provider cannot be opened.
        TypeError: `spec` is not a str.
    """
    scheme = _scheme(spec)
    if scheme == "pkcs11":
        p = _pkcs11(spec, "the key label prefix", _TENANT_SPEC_FORMS)
        return Pkcs11TenantKeks(
            p.module, token_label=p.token_label, pin=p.pin, label_prefix=p.object_label
        )
    if scheme == "aws-kms":
        prefix, region, endpoint = _aws(spec, _TENANT_SPEC_FORMS)
        if not prefix.startswith("alias/"):
            raise ConfigurationError(
                f"aws-kms tenant KEKs need an alias prefix (aws-kms:alias/<prefix>), not "
                f"{prefix!r}. Accepted: {_TENANT_SPEC_FORMS}"
            )
        return AwsKmsTenantKeks(region=region, endpoint_url=endpoint, alias_prefix=prefix)
    raise ConfigurationError(
        f"tenant KEKs live in an HSM or KMS, not in a file. Accepted: {_TENANT_SPEC_FORMS}"
    )
