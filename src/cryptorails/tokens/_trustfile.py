"""Trust files: which issuer and keys each tenant trusts, as operator configuration.

A trust file is strict JSON::

    {"tenants": {
        "acme": {"issuer": "https://auth.acme.example", "audience": "api",
                 "leeway_seconds": 30, "max_age_seconds": 3600, "required": ["exp"],
                 "jwks_file": "acme-jwks.json"},
        "globex": {"issuer": "https://id.globex.example",
                   "jwks": {"keys": [...]}},
        "internal": {"issuer": "https://api.example",
                     "keystore": {"path": "keys", "purpose": "tokens"}}}}

Each tenant names exactly one source of keys: an inline `jwks`, a `jwks_file`, or a
`keystore` (this service's own keyring: `path`, `purpose`, and optionally `tenant`
(default: the tenant's name), `kek` (default: `<path>.kek`) and `environment` (default:
the keystore's own)). Relative paths are relative to the trust file. `allow_symmetric:
true` lets a JWKS hold HS256 keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptorails import canonical
from cryptorails.context import Context
from cryptorails.errors import ConfigurationError
from cryptorails.keys import Keyring, LocalKek, keystore_environment
from cryptorails.tokens._jwk import Jwks
from cryptorails.tokens._trusted import TrustedIssuers
from cryptorails.tokens._verifier import DEFAULT_LEEWAY, TokenVerifier

__all__ = ["load_trust_file"]

_MAX_TRUST_FILE = 4 * 1024 * 1024
_FIELDS = {
    "issuer",
    "audience",
    "leeway_seconds",
    "max_age_seconds",
    "required",
    "jwks",
    "jwks_file",
    "keystore",
    "allow_symmetric",
}
_SOURCES = ("jwks", "jwks_file", "keystore")


def load_trust_file(path: str | Path) -> TrustedIssuers:
    """Build a `TrustedIssuers` from a trust file.

    Raises:
        ConfigurationError: unreadable, not strict JSON, or any entry is wrong (the
            message names the tenant and the field).
    """
    file = Path(path)
    try:
        data = canonical.loads(_read(file), max_bytes=_MAX_TRUST_FILE)
    except canonical.CanonicalJSONError as e:
        raise ConfigurationError(f"{file} is not strict JSON: {e}") from None
    tenants = data.get("tenants") if isinstance(data, Mapping) else None
    if not isinstance(tenants, Mapping) or not tenants:
        raise ConfigurationError(f'{file}: expected {{"tenants": {{name: {{...}}, ...}}}}')
    trusted = TrustedIssuers()
    for tenant, entry in tenants.items():
        try:
            trusted.add(tenant, _verifier(file.parent, tenant, entry))
        except (TypeError, ValueError) as e:
            raise ConfigurationError(f"{file}: tenant {tenant!r}: {e}") from None
        except ConfigurationError as e:
            raise ConfigurationError(f"{file}: tenant {tenant!r}: {e}") from None
    return trusted


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as e:
        raise ConfigurationError(f"cannot read {file}: {e.strerror}") from None


def _verifier(base: Path, tenant: str, entry: object) -> TokenVerifier:
    if not isinstance(entry, Mapping):
        raise ConfigurationError("each tenant entry is an object")
    unknown = sorted(set(entry) - _FIELDS)
    if unknown:
        raise ConfigurationError(f"unknown fields: {', '.join(unknown)}")
    sources = [s for s in _SOURCES if s in entry]
    if len(sources) != 1:
        raise ConfigurationError("name exactly one of jwks, jwks_file, keystore")
    options: dict[str, Any] = {
        "issuer": entry.get("issuer"),
        "audience": entry.get("audience"),
        "leeway": _seconds(entry, "leeway_seconds", default=DEFAULT_LEEWAY),
        "max_age": _seconds(entry, "max_age_seconds"),
    }
    if "required" in entry:
        if not isinstance(entry["required"], list):
            raise ConfigurationError("required is a list of claim names")
        options["required"] = tuple(entry["required"])
    allow_symmetric = entry.get("allow_symmetric", False) is True
    if sources[0] == "jwks":
        return TokenVerifier(
            keys=Jwks.from_json(entry["jwks"], allow_symmetric=allow_symmetric), **options
        )
    if sources[0] == "jwks_file":
        jwks_path = base / str(entry["jwks_file"])
        keys = Jwks.from_json(_read(jwks_path), allow_symmetric=allow_symmetric)
        return TokenVerifier(keys=keys, **options)
    keyring, ctx = _keystore(base, tenant, entry["keystore"])
    return TokenVerifier.for_keyring(keyring, ctx, **options)


_MAX_SECONDS = 10 * 365 * 24 * 3600  # ten years: far beyond any sane leeway or age


def _seconds(
    entry: Mapping[str, Any], name: str, *, default: timedelta | None = None
) -> timedelta | None:
    value = entry.get(name)
    if value is None:
        return default  # absent; an explicit 0 is kept (a zero leeway is a choice)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SECONDS:
        raise ConfigurationError(f"{name} is a whole number of seconds up to {_MAX_SECONDS}")
    return timedelta(seconds=value)


def _keystore(base: Path, tenant: str, ref: object) -> tuple[Keyring, Context]:
    if not isinstance(ref, Mapping) or not isinstance(ref.get("path"), str):
        raise ConfigurationError('keystore is {"path": ..., "purpose": ...}')
    path = base / ref["path"]
    kek = base / ref["kek"] if isinstance(ref.get("kek"), str) else Path(f"{path}.kek")
    environment = ref.get("environment") or keystore_environment(path)
    keyring = Keyring.open(path, kek=LocalKek.from_file(kek), environment=environment)
    ctx = Context(ref.get("tenant", tenant), ref.get("purpose", "tokens"))
    if keyring.find_keyset(ctx) is None:
        raise ConfigurationError(f"keystore {path} has no keyset for {ctx}")
    return keyring, ctx
