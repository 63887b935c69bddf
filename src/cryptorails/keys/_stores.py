"""Where keysets live: in memory (tests, ephemeral services) or in a file keystore.

Both offer one atomic read-modify-write (`update`): the file keystore holds an exclusive
`flock` on the keystore while it re-reads the keyset from disk, applies the change and
writes the result with a crash-safe replace, so concurrent processes on one host never
lose an update.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from cryptorails._fs import fsync_dir
from cryptorails.context import Context, validate_label
from cryptorails.errors import ConfigurationError, DecryptionError, Reason, StoreUnavailable
from cryptorails.keys._model import Keyset
from cryptorails.keys.kek import Kek, TenantKeks
from cryptorails.keys.kek._local import WrappedTenantKeks

__all__ = ["FileKeystore", "KeysetStore", "MemoryKeystore", "keystore_environment"]

T = TypeVar("T")
Change = Callable[[Keyset | None], tuple[Keyset, T]]
Signature = object

KEYSTORE_FORMAT = "cryptorails/v1/keystore"
KEYSET_FILE_FORMAT = "cryptorails/v1/keyset-file"


class KeysetStore(Protocol):
    """Storage for keysets of one environment."""

    environment: str

    def load(self, ctx: Context) -> Keyset | None: ...

    def update(self, ctx: Context, change: Change[T]) -> tuple[Keyset, Signature, T]:
        """Apply `change` atomically; return the result, its signature and `change`'s value.

        The signature is taken before anyone else can write, so a cache that stores it
        with the keyset is never paired with a newer file.
        """
        ...

    def signature(self, ctx: Context) -> Signature:
        """A cheap marker that changes whenever the stored keyset changes."""
        ...

    def contexts(self) -> list[Context]: ...

    def delete(self, ctx: Context) -> bool:
        """Remove the keyset of `ctx` entirely; True if there was one."""
        ...

    def destroy_tenant_kek(self, tenant: str) -> bool:
        """Destroy the tenant's own KEK, if this store has per-tenant KEKs."""
        ...


class MemoryKeystore:
    """Keysets in a dict, for tests and for services that keep no keys at rest."""

    def __init__(self, environment: str) -> None:
        self.environment = validate_label("environment", environment)
        self._keysets: dict[Context, Keyset] = {}
        self._lock = threading.Lock()

    def load(self, ctx: Context) -> Keyset | None:
        return self._keysets.get(ctx)

    def update(self, ctx: Context, change: Change[T]) -> tuple[Keyset, Signature, T]:
        with self._lock:
            current = self._keysets.get(ctx)
            keyset, result = change(current)
            if keyset is not current:
                self._keysets[ctx] = keyset
            return keyset, keyset.revision, result

    def signature(self, ctx: Context) -> Signature:
        ks = self._keysets.get(ctx)
        return None if ks is None else ks.revision

    def contexts(self) -> list[Context]:
        return list(self._keysets)

    def delete(self, ctx: Context) -> bool:
        with self._lock:
            return self._keysets.pop(ctx, None) is not None

    def destroy_tenant_kek(self, tenant: str) -> bool:
        return False  # one process, no KEK


class FileKeystore:
    """A directory holding one sealed file per keyset, bound to one environment and KEK.

    Layout: ``keystore.json`` (format, environment, KEK id, tenant KEK provider),
    ``keysets/<hash>.keyset`` (the keyset JSON wrapped by the KEK — or by its tenant's own
    KEK — with the environment and context as associated data), ``tenant-keks/`` (tenant
    KEKs wrapped by the KEK, when they are kept here), and ``.lock``.

    Args:
        tenant_keks: wrap each tenant's keysets under that tenant's own KEK. Pass a
            provider (`Pkcs11TenantKeks`, `AwsKmsTenantKeks`), or True on creation for
            tenant KEKs wrapped by `kek` inside the keystore (`WrappedTenantKeks`, found
            again automatically on open). The choice is recorded and checked on open.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        kek: Kek,
        environment: str,
        *,
        create: bool = False,
        tenant_keks: TenantKeks | bool | None = None,
    ) -> None:
        if not isinstance(kek, Kek):
            raise TypeError("kek must implement the Kek protocol (e.g. LocalKek)")
        self.environment = validate_label("environment", environment)
        self.path = Path(path)
        self._kek = kek
        self._dir = self.path / "keysets"
        if tenant_keks is True:
            tenant_keks = WrappedTenantKeks(kek, self.path / "tenant-keks")
        elif tenant_keks is not None and not isinstance(tenant_keks, TenantKeks):
            raise TypeError("tenant_keks must implement the TenantKeks protocol (or be True)")
        self._tenant_keks = tenant_keks or None
        meta_path = self.path / "keystore.json"
        if create and not _exists(meta_path):
            self._create(meta_path)
        meta = _read_json(meta_path, self.path)
        if meta.get("format") != KEYSTORE_FORMAT:
            raise ConfigurationError(f"{meta_path} is not a cryptorails keystore")
        if meta.get("environment") != environment:
            raise ConfigurationError(
                f"keystore {self.path} belongs to environment {meta.get('environment')!r}, "
                f"not {environment!r}"
            )
        if meta.get("kek_id") != kek.kek_id:
            raise ConfigurationError(f"keystore {self.path} was created under a different KEK")
        self._check_tenant_keks(meta.get("tenant_keks"))

    def _check_tenant_keks(self, recorded: object) -> None:
        given = self._tenant_keks.provider_id if self._tenant_keks else None
        if recorded == given:
            return
        if given is None and recorded == WrappedTenantKeks.provider_for(self._kek):
            self._tenant_keks = WrappedTenantKeks(self._kek, self.path / "tenant-keks")
        elif recorded is None:
            raise ConfigurationError(
                f"keystore {self.path} was created without per-tenant KEKs; open it without "
                "tenant_keks"
            )
        else:
            raise ConfigurationError(
                f"keystore {self.path} wraps each tenant's keysets under tenant KEKs from "
                f"{recorded}; open it with that provider (given: {given or 'none'})"
            )

    @property
    def tenant_keks(self) -> TenantKeks | None:
        """Where the tenants' own KEKs live, if this keystore has them."""
        return self._tenant_keks

    def _create(self, meta_path: Path) -> None:
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._dir.mkdir(mode=0o700, exist_ok=True)
        except OSError as e:
            raise _unreadable(self.path, e) from None
        with self._locked():
            if _exists(meta_path):  # another process won the race; validate theirs
                return
            meta = {
                "format": KEYSTORE_FORMAT,
                "environment": self.environment,
                "kek_id": self._kek.kek_id,
            }
            if self._tenant_keks is not None:
                meta["tenant_keks"] = self._tenant_keks.provider_id
            _atomic_write(meta_path, json.dumps(meta, indent=2).encode() + b"\n")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # A fresh descriptor per acquisition: flock excludes other descriptors, so this
        # serialises threads of this process as well as other processes.
        try:
            fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise _unreadable(self.path / ".lock", e) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _file(self, ctx: Context) -> Path:
        digest = hashlib.sha256(ctx.encode(self.environment)).hexdigest()[:32]
        return self._dir / f"{digest}.keyset"

    def _aad(self, ctx: Context) -> bytes:
        return b"cryptorails/v1/keyset" + ctx.encode(self.environment)

    def load(self, ctx: Context) -> Keyset | None:
        path = self._file(ctx)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise _unreadable(path, e) from None
        return self._decode(path, ctx, raw)

    def _decode(self, path: Path, ctx: Context, raw: bytes) -> Keyset:
        outer = _loads(path, raw)
        if outer.get("format") != KEYSET_FILE_FORMAT:
            raise ConfigurationError(f"{path} is not a cryptorails keyset file")
        kek = self._kek_for(ctx.tenant, create=False)
        if kek is None:
            raise ConfigurationError(
                f"keyset file {path} cannot be unwrapped: the KEK of tenant {ctx.tenant} is "
                "gone (the tenant was shredded; restoring an old keystore copy does not bring "
                "it back)"
            )
        try:
            wrapped = base64.b64decode(outer["wrapped"], validate=True)
            inner = kek.unwrap(wrapped, self._aad(ctx))
        except DecryptionError as e:
            if e.reason is Reason.KEK_UNAVAILABLE:
                raise StoreUnavailable(
                    f"the KEK of keyset file {path} cannot be reached now (HSM or KMS "
                    "outage, throttling): retry later"
                ) from None
            raise ConfigurationError(
                f"keyset file {path} does not authenticate under this KEK, environment "
                "and context (tampered, copied from elsewhere, or a different KEK)"
            ) from None
        except (KeyError, TypeError, ValueError):
            raise ConfigurationError(
                f"keyset file {path} does not authenticate under this KEK, environment "
                "and context (tampered, copied from elsewhere, or a different KEK)"
            ) from None
        try:
            keyset = Keyset.from_json(_loads(path, inner))
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigurationError(f"keyset file {path} has an invalid keyset: {e}") from None
        if keyset.context != ctx or keyset.environment != self.environment:
            raise ConfigurationError(f"keyset file {path} names another context")
        return keyset

    def update(self, ctx: Context, change: Change[T]) -> tuple[Keyset, Signature, T]:
        path = self._file(ctx)
        with self._locked():
            current = self.load(ctx)
            keyset, result = change(current)
            if keyset is not current:
                self._write(path, ctx, keyset)
            return keyset, self.signature(ctx), result

    def _kek_for(self, tenant: str, *, create: bool) -> Kek | None:
        if self._tenant_keks is None:
            return self._kek
        return self._tenant_keks.kek(tenant, create=create)

    def _write(self, path: Path, ctx: Context, keyset: Keyset) -> None:
        kek = self._kek_for(ctx.tenant, create=True)
        assert kek is not None  # created on demand
        inner = json.dumps(keyset.to_json(), sort_keys=True).encode()
        outer = {
            "format": KEYSET_FILE_FORMAT,
            "tenant": ctx.tenant,
            "purpose": ctx.purpose,
            "environment": self.environment,
            "wrapped": base64.b64encode(kek.wrap(inner, self._aad(ctx))).decode(),
        }
        _atomic_write(path, json.dumps(outer, indent=2).encode() + b"\n")

    def signature(self, ctx: Context) -> Signature:
        try:
            st = os.stat(self._file(ctx))
        except FileNotFoundError:
            return None
        except OSError as e:
            raise _unreadable(self._file(ctx), e) from None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def contexts(self) -> list[Context]:
        found = []
        for path in sorted(self._dir.glob("*.keyset")):
            try:
                outer = _loads(path, path.read_bytes())
            except OSError as e:
                raise _unreadable(path, e) from None
            try:
                ctx = Context(outer["tenant"], outer["purpose"])
            except (KeyError, TypeError, ValueError):
                raise ConfigurationError(f"{path} has no valid tenant/purpose") from None
            if path == self._file(ctx):  # the plaintext names are checked again on load
                found.append(ctx)
        return found

    def delete(self, ctx: Context) -> bool:
        path = self._file(ctx)
        with self._locked():
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            except OSError as e:
                raise _unreadable(path, e) from None
            fsync_dir(path.parent)
            return True

    def destroy_tenant_kek(self, tenant: str) -> bool:
        if self._tenant_keks is None:
            return False
        with self._locked():
            return self._tenant_keks.destroy(tenant)


def keystore_environment(path: str | os.PathLike[str]) -> str:
    """The environment a file keystore records (operator tooling reads it before opening).

    Raises:
        ConfigurationError: no keystore at `path`.
    """
    meta_path = Path(path) / "keystore.json"
    meta = _read_json(meta_path, Path(path))
    if meta.get("format") != KEYSTORE_FORMAT:
        raise ConfigurationError(f"{meta_path} is not a cryptorails keystore")
    try:
        return validate_label("environment", meta.get("environment"))
    except (TypeError, ValueError) as e:
        raise ConfigurationError(f"{meta_path} records an invalid environment: {e}") from None


def _loads(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ConfigurationError(f"{path} is not valid JSON") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} is not a JSON object")
    return data


def _read_json(path: Path, keystore: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(
            f"no keystore at {keystore} (create one with `cryptorails keys init`)"
        ) from None
    except OSError as e:
        raise _unreadable(path, e) from None
    return _loads(path, raw)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as e:
        raise _unreadable(path, e) from None


def _unreadable(path: Path, error: OSError) -> ConfigurationError:
    return ConfigurationError(f"cannot access {path}: {error.strerror or error}")


def _atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves either the old or the new file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
