"""`AwsKmsKek`: a KEK held in AWS KMS (envelope encryption).

KMS Encrypt takes at most 4096 bytes and keysets can be larger, so each wrap asks KMS for
a fresh 256-bit data key (GenerateDataKey), seals the plaintext locally with AES-256-GCM
under it, and keeps the data key only as KMS ciphertext. Unwrapping needs KMS Decrypt:
the KEK never leaves KMS, and every unwrap is authorised by IAM and logged by CloudTrail.

Binding: the KMS EncryptionContext is authenticated by KMS but appears in clear in
CloudTrail, so it carries a SHA-256 digest of the associated data, never the data; the
local AES-GCM binds the associated data itself. Needs the ``aws`` extra (boto3).
`AwsKmsTenantKeks` (one KMS key per tenant) builds on this module, in `_aws_tenants`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cryptorails.errors import ConfigurationError, DecryptionError, Reason
from cryptorails.keys.kek._base import _check_bytes
from cryptorails.secret import Secret

__all__ = ["AwsKmsKek"]

# A version byte of its own: a blob of another KEK type fails as UNSUPPORTED_VERSION.
_VERSION = b"\x21"
_LABEL = b"cryptorails/v1/kek-wrap/aws-kms"
_NONCE_SIZE = 12
_TAG_SIZE = 16
_MAX_KMS_BLOB = 6144  # the largest CiphertextBlob KMS Decrypt accepts (KMS API reference)
_INSTALL = "install the AWS KMS support: pip install 'cryptorails[aws]'"
# KMS error messages that name resources, never request details; any other error is
# reported by its code alone (a signature error can echo the signed request).
_SAFE_MESSAGES = frozenset(
    {"NotFoundException", "DisabledException", "KMSInvalidStateException", "ValidationException"}
)
# Decrypt refusals and what they mean; anything else (throttling, an unreachable endpoint,
# a server error) means the KEK cannot be used right now: KEK_UNAVAILABLE.
_DECRYPT_REASONS = {
    "InvalidCiphertextException": Reason.AUTHENTICATION_FAILED,
    "IncorrectKeyException": Reason.UNKNOWN_KEY,
    "AccessDeniedException": Reason.UNKNOWN_KEY,
    "NotFoundException": Reason.KEY_DESTROYED,
    "DisabledException": Reason.KEY_DISABLED,
    "KMSInvalidStateException": Reason.KEY_DISABLED,  # e.g. pending deletion
}


def _errors() -> tuple[type[Exception], type[Exception]]:
    """botocore's ClientError and BotoCoreError."""
    try:
        from botocore.exceptions import (  # type: ignore[import-untyped]
            BotoCoreError,
            ClientError,
        )
    except ImportError:
        raise ConfigurationError(f"boto3 is not installed; {_INSTALL}") from None
    return ClientError, BotoCoreError


def _error_field(error: Exception, field: str) -> str:
    response = getattr(error, "response", None)
    if not isinstance(response, dict) or not isinstance(response.get("Error"), dict):
        return ""
    return str(response["Error"].get(field, ""))


def _code(error: Exception) -> str:
    return _error_field(error, "Code")


def _explain(error: Exception, kms: Any) -> str:
    """A message for an operator: what failed, never credentials or a signed request."""
    code = _code(error)
    if code:
        message = _error_field(error, "Message")
        return f"{code}: {message}" if code in _SAFE_MESSAGES and message else code
    name = type(error).__name__
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return f"cannot reach KMS at {getattr(kms.meta, 'endpoint_url', '?')} ({name})"
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return "no usable AWS credentials (environment, shared config or instance role)"
    return name


def _check_endpoint(endpoint_url: str | None) -> None:
    if endpoint_url is None:
        return
    if not isinstance(endpoint_url, str):
        raise TypeError("endpoint_url must be a str")
    try:
        parts = urlsplit(endpoint_url)
        parts.port  # noqa: B018 -- raises ValueError for a bad port
    except ValueError:
        raise ConfigurationError("KMS endpoint is not a valid URL") from None
    if "@" in parts.netloc:
        # Not echoed: it would print the password.
        raise ConfigurationError("KMS endpoint must not carry credentials (user:password@)")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname:
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return
        raise ConfigurationError(
            f"KMS endpoint {endpoint_url} is plain http to another host: KMS sends data keys "
            "in its responses, which must not cross a network unencrypted; use https"
        )
    raise ConfigurationError(f"KMS endpoint {endpoint_url!r} is not an http(s) URL")


def _make_client(region: str | None, endpoint_url: str | None) -> Any:
    client_error, botocore_error = _errors()
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    # Bounded waits: a KEK call on the keystore's path must not hang on a dead endpoint.
    config = Config(
        connect_timeout=5, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"}
    )
    try:
        # A session per client: boto3's default session is not safe to share across threads.
        return boto3.session.Session().client(
            "kms", region_name=region, endpoint_url=endpoint_url, config=config
        )
    except (client_error, botocore_error, ValueError) as e:
        if type(e).__name__ == "NoRegionError":
            raise ConfigurationError(
                "no AWS region for KMS: pass region= or set AWS_REGION"
            ) from None
        raise ConfigurationError(f"cannot create a KMS client: {type(e).__name__}") from None


class _Client:
    """A KMS client, made again in a forked child when this module made it: the pooled
    connections of the parent's client must not be shared by two processes."""

    def __init__(self, client: Any, region: str | None, endpoint_url: str | None) -> None:
        if client is not None and (region is not None or endpoint_url is not None):
            raise ConfigurationError("pass either client= or region=/endpoint_url=, not both")
        _check_endpoint(endpoint_url)
        self._given = client is not None
        self._region = region
        self._endpoint = endpoint_url
        self._client = client if client is not None else _make_client(region, endpoint_url)
        self._pid = os.getpid()

    def get(self) -> Any:
        pid = os.getpid()
        if not self._given and self._pid != pid:
            # Two threads of a new child may both get here: each makes a valid client.
            self._client = _make_client(self._region, self._endpoint)
            self._pid = pid
        return self._client


def _encryption_context(aad: bytes) -> dict[str, str]:
    return {"cryptorails": "kek-wrap/v1", "aad-sha256": hashlib.sha256(aad).hexdigest()}


def _describe(kms: _Client, key_id: str) -> dict[str, Any] | None:
    """DescribeKey's KeyMetadata, or None if there is no such key or alias."""
    client_error, botocore_error = _errors()
    try:
        return dict(kms.get().describe_key(KeyId=key_id)["KeyMetadata"])
    except (client_error, botocore_error) as e:
        if _code(e) == "NotFoundException":
            return None
        raise ConfigurationError(
            f"cannot describe KMS key {key_id!r}: {_explain(e, kms.get())}"
        ) from None


class AwsKmsKek:
    """A KEK in AWS KMS: envelope encryption with a fresh data key per wrap.

    Args:
        key_id: the KMS key's id, ARN, alias name (``alias/...``) or alias ARN. It is
            resolved once, here: `kek_id` is the key's ARN, so an alias later pointed at
            another key gives another `kek_id`, and a keystore refuses it.
        client: a boto3 KMS client to use (else one is made from `region`/`endpoint_url`
            and the default credential chain). Do not share a given client across fork.
        region: AWS region, e.g. ``eu-west-1``.
        endpoint_url: another KMS endpoint (https, or http to a loopback address only).

    Raises:
        ConfigurationError: boto3 missing, no region, unreachable endpoint, no such key,
            a key that is not enabled or not a symmetric encryption key.
    """

    def __init__(
        self,
        key_id: str,
        *,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        if not isinstance(key_id, str) or not key_id:
            raise TypeError("key_id must be a non-empty str")
        kms = _Client(client, region, endpoint_url)
        meta = _describe(kms, key_id)
        if meta is None:
            raise ConfigurationError(f"no KMS key {key_id!r} in this account and region")
        self._init(kms, meta, key_id)

    @classmethod
    def _from_metadata(cls, kms: _Client, meta: dict[str, Any], name: str) -> AwsKmsKek:
        kek = cls.__new__(cls)
        kek._init(kms, meta, name)
        return kek

    def _init(self, kms: _Client, meta: dict[str, Any], name: str) -> None:
        arn = str(meta.get("Arn", ""))
        state = meta.get("KeyState")
        if state != "Enabled":
            raise ConfigurationError(f"KMS key {name!r} ({arn}) is {state}, not Enabled")
        spec = meta.get("KeySpec", "SYMMETRIC_DEFAULT")
        usage = meta.get("KeyUsage", "ENCRYPT_DECRYPT")
        if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
            raise ConfigurationError(
                f"KMS key {name!r} ({arn}) is {spec} for {usage}; a KEK must be a "
                "SYMMETRIC_DEFAULT key for ENCRYPT_DECRYPT"
            )
        self._kms = kms
        self._arn = arn
        self._kek_id = "aws-kms:" + arn

    @property
    def kek_id(self) -> str:
        return self._kek_id

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        """Seal `plaintext` under a new KMS data key, binding `aad`.

        Blob: version, 2-byte length and KMS CiphertextBlob, nonce, ciphertext+tag.

        Raises:
            ConfigurationError: KMS refused or could not be reached.
        """
        _check_bytes(plaintext, aad)
        client_error, botocore_error = _errors()
        kms = self._kms.get()
        try:
            response = kms.generate_data_key(
                KeyId=self._arn, KeySpec="AES_256", EncryptionContext=_encryption_context(aad)
            )
            # Into a Secret at once: it never prints, and no frame holds it as bytes.
            data_key = Secret(response.pop("Plaintext"))
            key_blob = bytes(response["CiphertextBlob"])
        except (client_error, botocore_error) as e:
            raise ConfigurationError(
                f"KMS key {self._arn} could not make a data key: {_explain(e, kms)}"
            ) from None
        except (KeyError, TypeError):
            raise ConfigurationError("KMS sent a malformed GenerateDataKey response") from None
        if len(data_key) != 32 or not 0 < len(key_blob) <= _MAX_KMS_BLOB:
            raise ConfigurationError("KMS sent a data key of an unexpected size")
        # One message per data key: a random nonce cannot repeat under it.
        nonce = os.urandom(_NONCE_SIZE)
        sealed = AESGCM(data_key.reveal()).encrypt(nonce, bytes(plaintext), _LABEL + bytes(aad))
        return _VERSION + len(key_blob).to_bytes(2, "big") + key_blob + nonce + sealed

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        """Reverse `wrap`. Raises `DecryptionError` for any failure."""
        if not isinstance(blob, bytes | bytearray | memoryview) or not isinstance(
            aad, bytes | bytearray | memoryview
        ):
            raise DecryptionError(Reason.WRONG_TYPE)
        blob, aad = bytes(blob), bytes(aad)
        if blob[:1] != _VERSION:
            raise DecryptionError(Reason.UNSUPPORTED_VERSION if blob else Reason.MALFORMED)
        size = int.from_bytes(blob[1:3], "big")
        end = 3 + size
        if not 0 < size <= _MAX_KMS_BLOB or len(blob) < end + _NONCE_SIZE + _TAG_SIZE:
            raise DecryptionError(Reason.MALFORMED)
        key_blob, nonce = blob[3:end], blob[end : end + _NONCE_SIZE]
        sealed = blob[end + _NONCE_SIZE :]
        client_error, botocore_error = _errors()
        try:
            response = self._kms.get().decrypt(
                CiphertextBlob=key_blob, EncryptionContext=_encryption_context(aad), KeyId=self._arn
            )
            data_key = Secret(response.pop("Plaintext"))
            used = response.get("KeyId", self._arn)
        except client_error as e:
            raise DecryptionError(_DECRYPT_REASONS.get(_code(e), Reason.KEK_UNAVAILABLE)) from None
        except (botocore_error, ConfigurationError):
            raise DecryptionError(Reason.KEK_UNAVAILABLE) from None  # KMS not reachable now
        except (KeyError, TypeError, AttributeError):
            raise DecryptionError(Reason.MALFORMED) from None
        if used != self._arn:
            raise DecryptionError(Reason.UNKNOWN_KEY)
        if len(data_key) != 32:
            raise DecryptionError(Reason.AUTHENTICATION_FAILED)
        try:
            return AESGCM(data_key.reveal()).decrypt(nonce, sealed, _LABEL + aad)
        except InvalidTag:
            raise DecryptionError(Reason.AUTHENTICATION_FAILED) from None

    def __repr__(self) -> str:
        return f"AwsKmsKek({self._arn})"
