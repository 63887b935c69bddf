"""`AwsKmsTenantKeks`: one AWS KMS key per tenant, found through an alias.

It holds the provider and the reversible encoding of tenant ids into KMS alias names;
each tenant's KEK is an `AwsKmsKek`, and the KMS client, error handling and key checks
are those of `_aws`. Needs the ``aws`` extra (boto3), imported only when used.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from cryptorails.context import validate_label
from cryptorails.errors import ConfigurationError
from cryptorails.keys.kek._aws import AwsKmsKek, _Client, _code, _describe, _errors, _explain

__all__ = ["AwsKmsTenantKeks"]

# KMS alias names: "alias/" then letters, digits, "/", "_" and "-", 256 characters at most.
_ALIAS_PREFIX = re.compile(r"alias/[A-Za-z0-9/_-]*")
_MAX_ALIAS = 256
_PLAIN = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


def _alias_part(tenant: str) -> str:
    """The tenant id in alias characters: letters, digits and "-" as they are, every
    other UTF-8 byte as "_" and two lower-case hex digits (reversible)."""
    return "".join(chr(b) if b in _PLAIN else f"_{b:02x}" for b in tenant.encode("utf-8"))


def _tenant_of(part: str) -> str | None:
    """The tenant id an alias suffix encodes, or None if it is not one of ours."""
    out = bytearray()
    i = 0
    while i < len(part):
        if part[i] == "_":
            digits = part[i + 1 : i + 3]
            if len(digits) != 2 or not re.fullmatch(r"[0-9a-f]{2}", digits):
                return None
            out.append(int(digits, 16))
            i += 3
        else:
            out += part[i].encode()
            i += 1
    try:
        tenant = validate_label("tenant", out.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return tenant if _alias_part(tenant) == part else None


class AwsKmsTenantKeks:
    """One KMS key per tenant, found through an alias (prefix + encoded tenant id).

    `destroy` disables the key (unusable from that moment), schedules its deletion with
    the shortest window KMS allows (7 days: KMS never deletes a key at once) and deletes
    the alias. A restored keystore copy can then no longer unwrap that tenant's keysets.

    Args:
        client, region, endpoint_url: as for `AwsKmsKek`.
        alias_prefix: starts with ``alias/`` (not ``alias/aws/``, reserved by AWS).

    Raises:
        ConfigurationError: a bad prefix, or no KMS client could be made.
    """

    def __init__(
        self,
        *,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        alias_prefix: str = "alias/cryptorails-tenant-",
    ) -> None:
        if not isinstance(alias_prefix, str):
            raise TypeError("alias_prefix must be a str")
        if not _ALIAS_PREFIX.fullmatch(alias_prefix) or alias_prefix.startswith("alias/aws/"):
            raise ConfigurationError(
                f"alias prefix {alias_prefix!r} must start with 'alias/' (not 'alias/aws/') "
                "and hold only letters, digits, '/', '_' and '-'"
            )
        self._prefix = alias_prefix
        self._kms = _Client(client, region, endpoint_url)
        region_name = getattr(self._kms.get().meta, "region_name", None)
        self._provider_id = f"aws-kms:region={region_name};prefix={alias_prefix}"

    @property
    def provider_id(self) -> str:
        return self._provider_id

    def _alias(self, tenant: str) -> str:
        alias = self._prefix + _alias_part(validate_label("tenant", tenant))
        if len(alias) > _MAX_ALIAS:
            raise ConfigurationError(
                f"tenant id {tenant!r} is too long for a KMS alias ({len(alias)} > {_MAX_ALIAS} "
                "characters once encoded)"
            )
        return alias

    def kek(self, tenant: str, *, create: bool) -> AwsKmsKek | None:
        """The KEK of `tenant`; a new KMS key and alias first when absent and `create`."""
        alias = self._alias(tenant)
        meta = _describe(self._kms, alias)
        if meta is not None and meta.get("KeyState") == "PendingDeletion":
            if not create:
                return None  # destroyed, only the alias was left behind
            self._call("delete_alias", f"remove the alias {alias}", AliasName=alias)
            meta = None
        if meta is None:
            if not create:
                return None
            meta = self._create(alias)
        return AwsKmsKek._from_metadata(self._kms, meta, alias)

    def _call(self, operation: str, what: str, **params: Any) -> Any:
        client_error, botocore_error = _errors()
        kms = self._kms.get()
        try:
            return getattr(kms, operation)(**params)
        except (client_error, botocore_error) as e:
            if _code(e) == "AlreadyExistsException":
                raise
            raise ConfigurationError(f"KMS could not {what}: {_explain(e, kms)}") from None

    def _create(self, alias: str) -> dict[str, Any]:
        created = self._call(
            "create_key",
            f"create a key for {alias}",
            Description=f"cryptorails tenant KEK ({alias})",
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
        )
        key_id = str(created["KeyMetadata"]["KeyId"])
        client_error, _ = _errors()
        try:
            self._call("create_alias", f"create {alias}", AliasName=alias, TargetKeyId=key_id)
        except client_error:
            # AlreadyExistsException: another process made the alias first. This key was
            # never used: retire it, and use theirs.
            self._retire(key_id)
            meta = _describe(self._kms, alias)
            if meta is None:
                raise ConfigurationError(f"{alias} vanished while it was being created") from None
            return meta
        except ConfigurationError:
            with contextlib.suppress(ConfigurationError):
                self._retire(key_id)  # best effort: leave no unused key behind
            raise
        return dict(created["KeyMetadata"])

    def _retire(self, key_id: str, state: str = "Enabled") -> None:
        # Key ids (not ARNs) for these calls: accepted everywhere, emulators included.
        if state == "Enabled":
            self._call("disable_key", f"disable key {key_id}", KeyId=key_id)
        if state != "PendingDeletion":
            self._call(
                "schedule_key_deletion",
                f"schedule the deletion of key {key_id}",
                KeyId=key_id,
                PendingWindowInDays=7,  # the minimum KMS allows
            )

    def destroy(self, tenant: str) -> bool:
        """Disable the tenant's key, schedule its deletion, remove the alias.

        Returns:
            True if the tenant had a key.
        """
        alias = self._alias(tenant)
        meta = _describe(self._kms, alias)
        if meta is None:
            return False
        self._retire(str(meta["KeyId"]), str(meta.get("KeyState")))
        self._call("delete_alias", f"delete {alias}", AliasName=alias)
        return True

    def tenants(self) -> list[str]:
        """Every tenant with an alias under this prefix, sorted (ListAliases, all pages)."""
        client_error, botocore_error = _errors()
        kms = self._kms.get()
        found: set[str] = set()
        try:
            for page in kms.get_paginator("list_aliases").paginate():
                for entry in page.get("Aliases", []):
                    name = str(entry.get("AliasName", ""))
                    if name.startswith(self._prefix) and entry.get("TargetKeyId"):
                        tenant = _tenant_of(name[len(self._prefix) :])
                        if tenant is not None:
                            found.add(tenant)
        except (client_error, botocore_error) as e:
            raise ConfigurationError(f"KMS could not list aliases: {_explain(e, kms)}") from None
        return sorted(found)

    def __repr__(self) -> str:
        return f"AwsKmsTenantKeks({self._provider_id})"
