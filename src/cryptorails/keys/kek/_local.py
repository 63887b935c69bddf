"""`LocalKek`: a KEK kept in a local file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag

from cryptorails._fs import fsync_dir
from cryptorails.aead._xaes import XaesKey
from cryptorails.context import validate_label
from cryptorails.errors import ConfigurationError, DecryptionError, Reason
from cryptorails.keys.kek._base import Kek, read_private_file
from cryptorails.secret import Secret

__all__ = ["LocalKek", "WrappedTenantKeks", "read_kek_file"]

_WRAP_VERSION = b"\x01"


class LocalKek:
    """A KEK held in a local file (32 raw bytes or 64 hex digits), wrapping with XAES-256-GCM.

    XAES-256-GCM's random 192-bit nonces need no counter or state, which suits a key that
    wraps at every keystore write from many processes.
    """

    def __init__(self, key: Secret) -> None:
        if not isinstance(key, Secret):
            raise TypeError("LocalKek takes a Secret")
        if len(key) != 32:
            raise ValueError("a KEK is 32 bytes")
        self._xaes = XaesKey(key.reveal(), _WRAP_VERSION)
        # A key check value: identifies the KEK without revealing anything usable.
        self._kek_id = hmac.new(key.reveal(), b"cryptorails/v1/kek-id", hashlib.sha256).hexdigest()[
            :32
        ]

    @property
    def kek_id(self) -> str:
        return self._kek_id

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LocalKek:
        """Load a KEK file, refusing one that group or others can read or write.

        Raises:
            ConfigurationError: missing, unreadable, too open, or not a 32-byte key.
        """
        return cls(read_kek_file(path))

    @classmethod
    def generate(cls, path: str | os.PathLike[str]) -> LocalKek:
        """Create a new random KEK file with mode 0600. Refuses to overwrite one."""
        p = Path(path)
        key = os.urandom(32)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ConfigurationError(f"KEK file {p} already exists; not overwriting") from None
        except OSError as e:
            raise ConfigurationError(f"cannot create KEK file {p}: {e.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(key)
                f.flush()
                os.fsync(f.fileno())
            # The directory entry too: after a power loss, keysets written under this KEK
            # must not survive while the KEK file itself is gone.
            fsync_dir(p.parent)
        except OSError as e:
            p.unlink(missing_ok=True)  # never leave a partial key behind
            raise ConfigurationError(f"cannot write KEK file {p}: {e.strerror}") from None
        return cls(Secret(key))

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        return self._xaes.seal(plaintext, b"cryptorails/v1/kek-wrap" + aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        if blob[:1] != _WRAP_VERSION:
            raise DecryptionError(Reason.UNSUPPORTED_VERSION)
        try:
            return self._xaes.open(bytes(blob), b"cryptorails/v1/kek-wrap" + aad)
        except (InvalidTag, ValueError):
            raise DecryptionError(Reason.AUTHENTICATION_FAILED) from None

    def __repr__(self) -> str:
        return f"LocalKek(kek_id={self._kek_id[:8]}...)"


def read_kek_file(path: str | os.PathLike[str]) -> Secret:
    """The key in a KEK file (for `LocalKek.from_file`, and for operator tools that look
    for copies of it), refusing a file that group or others can read or write.

    Raises:
        ConfigurationError: missing, unreadable, too open, or not a 32-byte key.
    """
    p = Path(path)
    key = _key_from_file_bytes(read_private_file(p, "KEK file", 1023))
    if key is None:
        raise ConfigurationError(f"KEK file {p} must hold 32 raw bytes or 64 hex digits")
    return key


def _key_from_file_bytes(raw: Secret) -> Secret | None:
    """The key in a KEK file's bytes (32 raw bytes or 64 hex digits), or None."""
    if len(raw) == 32:
        return raw
    text = raw.reveal().strip()
    if len(text) != 64:
        return None
    try:
        return Secret(bytes.fromhex(text.decode("ascii")))
    except (UnicodeDecodeError, ValueError):
        return None


class WrappedTenantKeks:
    """Tenant KEKs kept in a folder, each a random 32-byte key wrapped by a master KEK.

    Needs no HSM, and destroying a tenant's KEK makes every keyset file of that tenant
    unreadable. But a restored copy of the folder brings a destroyed tenant KEK back, so
    this provider relies on the ledger tombstone that `Keyring.shred` writes. For
    shredding that holds even against restored copies, keep tenant KEKs in an HSM or KMS
    (`Pkcs11TenantKeks`, `AwsKmsTenantKeks`).
    """

    def __init__(self, master: Kek, directory: str | os.PathLike[str]) -> None:
        self._master = master
        self._dir = Path(directory)

    @staticmethod
    def provider_for(master: Kek) -> str:
        """The provider id of tenant KEKs wrapped by `master`."""
        return f"wrapped:{master.kek_id}"

    @property
    def provider_id(self) -> str:
        return self.provider_for(self._master)

    def _file(self, tenant: str) -> Path:
        digest = hashlib.sha256(_TENANT_KEK_LABEL + tenant.encode()).hexdigest()[:32]
        return self._dir / f"{digest}.tkek"

    @staticmethod
    def _aad(tenant: str) -> bytes:
        name = tenant.encode()
        return _TENANT_KEK_LABEL + len(name).to_bytes(2, "big") + name

    def kek(self, tenant: str, *, create: bool) -> LocalKek | None:
        validate_label("tenant", tenant)
        path = self._file(tenant)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            if not create:
                return None
            raw = self._create(tenant, path)
        except OSError as e:
            raise ConfigurationError(f"cannot read tenant KEK {path}: {e.strerror}") from None
        try:
            data = json.loads(raw)
            if data["format"] != _TENANT_KEK_FORMAT or data["tenant"] != tenant:
                raise ValueError
            key = self._master.unwrap(base64.b64decode(data["wrapped"]), self._aad(tenant))
        except (ValueError, KeyError, TypeError, DecryptionError):
            raise ConfigurationError(
                f"tenant KEK file {path} does not authenticate under this keystore's KEK"
            ) from None
        return LocalKek(Secret(key))

    def _create(self, tenant: str, path: Path) -> bytes:
        """Write a new tenant KEK, or return the one another process wrote first."""
        wrapped = self._master.wrap(os.urandom(32), self._aad(tenant))
        data = json.dumps(
            {
                "format": _TENANT_KEK_FORMAT,
                "tenant": tenant,
                "wrapped": base64.b64encode(wrapped).decode(),
            }
        ).encode()
        try:
            self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            with open(tmp, "wb", opener=lambda p, f: os.open(p, f | os.O_EXCL, 0o600)) as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                # link() fails if the name exists: the first writer wins, atomically, and
                # no reader ever sees a half-written file.
                os.link(tmp, path)
            except FileExistsError:
                return path.read_bytes()
            finally:
                tmp.unlink()
            fsync_dir(self._dir)
        except OSError as e:
            raise ConfigurationError(f"cannot write tenant KEK {path}: {e.strerror}") from None
        return data

    def destroy(self, tenant: str) -> bool:
        validate_label("tenant", tenant)
        path = self._file(tenant)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as e:
            raise ConfigurationError(f"cannot delete tenant KEK {path}: {e.strerror}") from None
        fsync_dir(self._dir)
        return True

    def tenants(self) -> list[str]:
        found = []
        for path in sorted(self._dir.glob("*.tkek")):
            try:
                tenant = json.loads(path.read_bytes())["tenant"]
            except (OSError, ValueError, KeyError, TypeError):
                continue  # unreadable entries are reported when their tenant is used
            if isinstance(tenant, str) and path == self._file(tenant):
                found.append(tenant)
        return found

    def __repr__(self) -> str:
        return f"WrappedTenantKeks({str(self._dir)!r})"


_TENANT_KEK_FORMAT = "cryptorails/v1/tenant-kek"
_TENANT_KEK_LABEL = b"cryptorails/v1/tenant-kek"
