"""`Pkcs11Kek` and `Pkcs11TenantKeks`: KEKs that live in an HSM token (PKCS #11).

Each KEK is an AES-256 secret key generated inside the token as a token object that is
sensitive and not extractable (PKCS #11 v2.40 base specification, CKA_SENSITIVE and
CKA_EXTRACTABLE): its value never leaves the HSM, and wrapping runs in the HSM with
CKM_AES_GCM. Keys this module generates can do nothing else (CKA_ALLOWED_MECHANISMS,
CKA_MODIFIABLE false). Needs the ``hsm`` extra (python-pkcs11).

Thread-safe and fork-safe: every KEK on a token shares the process's one logged-in
session (`_pkcs11_session` holds that machinery and says why).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from cryptorails.context import length_prefixed, validate_label
from cryptorails.errors import ConfigurationError, DecryptionError, Reason
from cryptorails.keys.kek._base import _check_bytes
from cryptorails.keys.kek._pkcs11_session import _acquire, _p11, _refused, _Shared, _state
from cryptorails.secret import Secret

__all__ = ["Pkcs11Kek", "Pkcs11TenantKeks"]

# A version byte of its own: a blob of another KEK type fails as UNSUPPORTED_VERSION.
_VERSION = b"\x11"
_LABEL = b"cryptorails/v1/kek-wrap/pkcs11"
_IV_SIZE = 12
_TAG_SIZE = 16


class _KeyGoneError(Exception):
    """The KEK's key object is no longer on the token (destroyed)."""


def _find_keys(p11: Any, session: Any, label: str, key_id: bytes | None = None) -> list[Any]:
    template = {p11.Attribute.CLASS: p11.ObjectClass.SECRET_KEY, p11.Attribute.LABEL: label}
    if key_id is not None:
        template[p11.Attribute.ID] = key_id
    return list(session.get_objects(template))


def _generate_key(p11: Any, session: Any, token_label: str, label: str) -> None:
    if _find_keys(p11, session, label):
        raise ConfigurationError(
            f"PKCS#11 token {token_label!r} already holds a key labelled {label!r}; "
            "not creating another"
        )
    a = p11.Attribute
    template: dict[Any, Any] = {
        a.TOKEN: True,
        a.PRIVATE: True,
        a.SENSITIVE: True,
        a.EXTRACTABLE: False,
        a.MODIFIABLE: False,  # the label and usage cannot be changed later
        a.ALLOWED_MECHANISMS: [p11.Mechanism.AES_GCM],
    }
    # A random CKA_ID: a key made again under the same label gets another kek_id.
    key_id = os.urandom(16)
    flags = p11.MechanismFlag.ENCRYPT | p11.MechanismFlag.DECRYPT
    options = {"id": key_id, "label": label, "store": True, "capabilities": flags}
    try:
        session.generate_key(p11.KeyType.AES, 256, template=template, **options)
    except p11.AttributeTypeInvalid:
        # A token without CKA_ALLOWED_MECHANISMS (pre-v2.40): the key is still sensitive
        # and unextractable, only not limited to GCM.
        del template[a.ALLOWED_MECHANISMS]
        session.generate_key(p11.KeyType.AES, 256, template=template, **options)


def _checked_key(p11: Any, shared: _Shared, session: Any, label: str) -> tuple[Any, bytes]:
    """The one usable KEK labelled `label`, and its CKA_ID."""
    keys = _find_keys(p11, session, label)
    where = f"on PKCS#11 token {shared.label!r}"
    if not keys:
        raise ConfigurationError(
            f"no secret key labelled {label!r} {where}; create it with Pkcs11Kek.generate"
        )
    if len(keys) > 1:
        raise ConfigurationError(
            f"{len(keys)} secret keys are labelled {label!r} {where}; a KEK label must be unique"
        )
    key = keys[0]
    a = p11.Attribute
    attrs = key.get_attributes([a.KEY_TYPE, a.VALUE_LEN, a.SENSITIVE, a.EXTRACTABLE, a.ID])
    if attrs[a.KEY_TYPE] != p11.KeyType.AES or attrs[a.VALUE_LEN] != 32:
        raise ConfigurationError(f"key {label!r} {where} is not an AES-256 key")
    if not attrs[a.SENSITIVE] or attrs[a.EXTRACTABLE]:
        raise ConfigurationError(
            f"key {label!r} {where} can be read out of the token; a KEK must be "
            "CKA_SENSITIVE and not CKA_EXTRACTABLE"
        )
    return key, bytes(attrs[a.ID])


class Pkcs11Kek:
    """A KEK held in an HSM token, wrapping with AES-256-GCM inside the HSM.

    Args:
        module: path of the PKCS #11 library (e.g. ``/usr/lib/softhsm/libsofthsm2.so``).
        token_label: the token's label.
        key_label: the CKA_LABEL of the AES-256 key (see `generate`).
        pin: the token's user PIN.

    Raises:
        ConfigurationError: module missing or not loadable, no such token, wrong PIN, no
            key or more than one key with that label, or a key that is not a sensitive,
            unextractable AES-256 key.
        TypeError: `pin` is not a `Secret`.

    Thread-safe and fork-safe. `close()` (or a ``with`` block) logs out of the token when
    no other KEK of this process uses it.
    """

    def __init__(
        self, module: str | os.PathLike[str], *, token_label: str, key_label: str, pin: Secret
    ) -> None:
        shared = _acquire(module, token_label, pin)
        try:
            self._bind(shared, key_label, owner=True)
        except BaseException:
            shared.release()
            raise

    @classmethod
    def generate(
        cls, module: str | os.PathLike[str], *, token_label: str, key_label: str, pin: Secret
    ) -> Pkcs11Kek:
        """Create the key in the token and return its KEK. Refuses if the label is taken.

        Raises:
            ConfigurationError: as for the constructor, or a key with that label exists.
        """
        validate_label("key_label", key_label)
        shared = _acquire(module, token_label, pin)
        try:
            p11 = _p11()
            with _refused(token_label, f"generate key {key_label!r}"):
                shared.run(lambda session: _generate_key(p11, session, token_label, key_label))
            kek = cls.__new__(cls)
            kek._bind(shared, key_label, owner=True)
        except BaseException:
            shared.release()
            raise
        return kek

    def _bind(self, shared: _Shared, key_label: str, *, owner: bool) -> None:
        validate_label("key_label", key_label)
        p11 = _p11()
        with _refused(shared.label, f"find key {key_label!r}"):
            key, key_id = shared.run(lambda s: _checked_key(p11, shared, s, key_label))
        self._shared = shared
        self._owner = owner
        self._key_label = key_label
        self._key_id = key_id
        self._key: Any = key
        self._generation = shared.generation
        # Non-secret and stable: which token, which label, which generated key.
        digest = hashlib.sha256(
            length_prefixed(
                b"cryptorails/v1/pkcs11-kek-id", shared.serial.encode(), key_label.encode(), key_id
            )
        )
        self._kek_id = "pkcs11:" + digest.hexdigest()[:32]

    @property
    def kek_id(self) -> str:
        return self._kek_id

    def _current_key(self, p11: Any, session: Any) -> Any:
        key = self._key
        if key is not None and self._generation == self._shared.generation:
            # Handles may be reused by another object after a destroy: check identity.
            try:
                attrs = key.get_attributes([p11.Attribute.LABEL, p11.Attribute.ID])
                if attrs[p11.Attribute.LABEL] == self._key_label and (
                    bytes(attrs[p11.Attribute.ID]) == self._key_id
                ):
                    return key
            except p11.ObjectHandleInvalid:
                pass
        keys = _find_keys(p11, session, self._key_label, self._key_id)
        if len(keys) != 1:
            self._key = None
            raise _KeyGoneError
        self._key, self._generation = keys[0], self._shared.generation
        return self._key

    def _crypt(self, encrypt: bool, data: bytes, iv: bytes, aad: bytes) -> bytes:
        p11 = _p11()
        params = p11.GCMParams(iv, _LABEL + aad, _TAG_SIZE * 8)

        def op(session: Any) -> bytes:
            key = self._current_key(p11, session)
            if encrypt:
                return bytes(
                    key.encrypt(data, mechanism=p11.Mechanism.AES_GCM, mechanism_param=params)
                )
            return bytes(key.decrypt(data, mechanism=p11.Mechanism.AES_GCM, mechanism_param=params))

        return self._shared.run(op)

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        """Seal `plaintext` in the HSM, binding `aad`. Blob: version, IV, ciphertext+tag.

        Raises:
            ConfigurationError: the HSM refused or the key is gone.
        """
        _check_bytes(plaintext, aad)
        # A random 96-bit IV: a KEK wraps once per keystore write, far below the 2^32
        # invocations NIST SP 800-38D §8.3 allows per key with random IVs.
        iv = os.urandom(_IV_SIZE)
        try:
            return _VERSION + iv + self._crypt(True, bytes(plaintext), iv, bytes(aad))
        except _KeyGoneError:
            raise ConfigurationError(
                f"key {self._key_label!r} is no longer on PKCS#11 token {self._shared.label!r}"
            ) from None
        except _p11().PKCS11Error as e:
            raise ConfigurationError(
                f"PKCS#11 token {self._shared.label!r} refused to wrap with key "
                f"{self._key_label!r}: {type(e).__name__}"
            ) from None

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        """Reverse `wrap`. Raises `DecryptionError` for any failure."""
        if not isinstance(blob, bytes | bytearray | memoryview) or not isinstance(
            aad, bytes | bytearray | memoryview
        ):
            raise DecryptionError(Reason.WRONG_TYPE)
        blob = bytes(blob)
        if blob[:1] != _VERSION:
            raise DecryptionError(Reason.UNSUPPORTED_VERSION if blob else Reason.MALFORMED)
        if len(blob) < 1 + _IV_SIZE + _TAG_SIZE:
            raise DecryptionError(Reason.MALFORMED)
        iv, sealed = blob[1 : 1 + _IV_SIZE], blob[1 + _IV_SIZE :]
        self._shared.check_open()  # misuse, not a failed authentication
        p11 = _p11()
        try:
            return self._crypt(False, sealed, iv, bytes(aad))
        except _KeyGoneError:
            raise DecryptionError(Reason.KEY_DESTROYED) from None
        except ConfigurationError:
            # The token could not be reached again: the KEK is not usable now.
            raise DecryptionError(Reason.KEK_UNAVAILABLE) from None
        except p11.PKCS11Error:
            # SoftHSM reports a bad tag as CKR_GENERAL_ERROR, others as
            # CKR_ENCRYPTED_DATA_INVALID: every refusal means "does not authenticate".
            raise DecryptionError(Reason.AUTHENTICATION_FAILED) from None

    def close(self) -> None:
        """Release the token session (logged out when no other KEK of this process uses it)."""
        if self._owner:
            self._owner = False
            self._shared.release()

    def __enter__(self) -> Pkcs11Kek:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Pkcs11Kek(token={self._shared.label!r}, key={self._key_label!r}, "
            f"kek_id={self._kek_id})"
        )


class Pkcs11TenantKeks:
    """One non-extractable AES-256 key per tenant in an HSM token (label = prefix + tenant).

    `destroy` removes the tenant's key object from the token (C_DestroyObject), so no copy
    of a keystore, however old, can unwrap that tenant's keysets again.

    Args:
        module: path of the PKCS #11 library.
        token_label: the token's label.
        pin: the token's user PIN.
        label_prefix: prefix of the tenant keys' labels.

    Raises:
        ConfigurationError: as for `Pkcs11Kek`.
    """

    def __init__(
        self,
        module: str | os.PathLike[str],
        *,
        token_label: str,
        pin: Secret,
        label_prefix: str = "cryptorails-tenant-",
    ) -> None:
        self._prefix = validate_label("label_prefix", label_prefix)
        self._shared = _acquire(module, token_label, pin)
        self._owner = True
        self._provider_id = f"pkcs11:token={_pct(token_label)};prefix={_pct(label_prefix)}"

    @property
    def provider_id(self) -> str:
        return self._provider_id

    def _label(self, tenant: str) -> str:
        return self._prefix + validate_label("tenant", tenant)

    def kek(self, tenant: str, *, create: bool) -> Pkcs11Kek | None:
        """The KEK of `tenant`; generated in the token first when absent and `create`."""
        label = self._label(tenant)
        p11 = _p11()

        def find_or_create(session: Any) -> bool:
            if _find_keys(p11, session, label):
                return True
            if not create:
                return False
            _generate_key(p11, session, self._shared.label, label)
            return True

        with _state.lock, _refused(self._shared.label, f"find or create key {label!r}"):
            # Atomic within the process; across processes the keystore's lock serialises it.
            if not self._shared.run(find_or_create):
                return None
            kek = Pkcs11Kek.__new__(Pkcs11Kek)
            kek._bind(self._shared, label, owner=False)
            return kek

    def destroy(self, tenant: str) -> bool:
        """Destroy the tenant's key object(s) in the token; True if there was one."""
        label = self._label(tenant)
        p11 = _p11()

        def destroy_all(session: Any) -> bool:
            keys = _find_keys(p11, session, label)
            for key in keys:
                key.destroy()
            return bool(keys)

        with _refused(self._shared.label, f"destroy key {label!r}"):
            return self._shared.run(destroy_all)

    def tenants(self) -> list[str]:
        """Every tenant with a key under this prefix, sorted."""
        p11 = _p11()

        def labels(session: Any) -> list[str]:
            keys = session.get_objects({p11.Attribute.CLASS: p11.ObjectClass.SECRET_KEY})
            return [str(k[p11.Attribute.LABEL]) for k in keys]

        with _refused(self._shared.label, "list keys"):
            all_labels = self._shared.run(labels)
        found = {
            label[len(self._prefix) :]
            for label in all_labels
            if label.startswith(self._prefix) and len(label) > len(self._prefix)
        }
        return sorted(found)

    def close(self) -> None:
        """Release the token session; KEKs handed out by `kek` stop working."""
        if self._owner:
            self._owner = False
            self._shared.release()

    def __enter__(self) -> Pkcs11TenantKeks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Pkcs11TenantKeks({self._provider_id})"


def _pct(value: str) -> str:
    """Percent-encode `value` as an RFC 7512 path attribute value (§2.3, pk11-pchar)."""
    from urllib.parse import quote

    return quote(value, safe=":[]@!$'()*+,=-._~")
