"""`BackupSealer`: streaming, chunked authenticated encryption of backups.

The format is described in `cryptorails.backups._format`. Backups are sealed under the
keyset ``Context(tenant, "backup")`` of a keyring that holds nothing else: open it from
a keystore of its own, under a KEK of its own, e.g. ::

    backup_keys = Keyring.open("/etc/app/backup-keys", kek=LocalKek.from_file(
        "/etc/app/backup-kek"), environment="prod", ledger=Ledger.open(ledger_url))
    BackupSealer(backup_keys, tenant="acme").seal_file("dump.sql", "/backups/acme.crbk")

so that a leaked live key never reads a backup, a leaked backup key never reads live
data, and shredding a tenant in the backup keyring (`Keyring.shred`) makes every backup
of it unreadable at once, wherever the copies are.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import UTC
from pathlib import Path
from typing import BinaryIO

from cryptorails.aead import Sealer
from cryptorails.aead._format import read_header as read_blob_header
from cryptorails.backups import _format as fmt
from cryptorails.backups._chunks import Sink, chunk_counts, open_chunks, seal_chunks
from cryptorails.backups._files import atomic_output
from cryptorails.backups._manifest import Manifest
from cryptorails.clock import Clock, SystemClock, require_aware
from cryptorails.context import Context
from cryptorails.errors import ConfigurationError, DecryptionError, Reason, VerificationError
from cryptorails.keys import Keyring, Ledger
from cryptorails.keys._stores import _atomic_write
from cryptorails.secret import Secret

__all__ = ["BACKUP_PURPOSE", "BackupSealer", "manifest_path"]

BACKUP_PURPOSE = "backup"
_COPY = 1 << 20


def manifest_path(path: str | os.PathLike[str]) -> Path:
    """Where `seal_file` writes the manifest of the backup at `path`."""
    p = Path(path)
    return p.with_name(p.name + ".manifest.json")


class BackupSealer:
    """Seal and open backups of one tenant under a backup-only keyring.

    Args:
        keyring: the backup keyring. It must hold no keyset of another purpose than
            ``backup``: live keys and backup keys never share a keystore or a KEK.
        tenant: whose backups these are (the keyset ``Context(tenant, "backup")``).
        ledger: if given, every backup made or re-keyed is recorded as key usage (kind
            ``backup``), for ``cryptorails keys blast-radius``.
        chunk_size: plaintext bytes per chunk, 1 KiB to 16 MiB (default 64 KiB).
        clock: the wall clock for creation times.

    Raises:
        ConfigurationError: the keyring holds keysets of other purposes.
        TypeError, ValueError: wrong argument types or values.
    """

    def __init__(
        self,
        keyring: Keyring,
        *,
        tenant: str,
        ledger: Ledger | None = None,
        chunk_size: int = 1 << 16,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(keyring, Keyring):
            raise TypeError("BackupSealer needs a cryptorails Keyring")
        if ledger is not None and not isinstance(ledger, Ledger):
            raise TypeError("ledger must be a cryptorails Ledger")
        if not isinstance(chunk_size, int) or isinstance(chunk_size, bool):
            raise TypeError("chunk_size must be an int")
        if not fmt.MIN_CHUNK_SIZE <= chunk_size <= fmt.MAX_CHUNK_SIZE:
            raise ValueError(
                f"chunk_size must be between {fmt.MIN_CHUNK_SIZE} and {fmt.MAX_CHUNK_SIZE}"
            )
        self._ctx = Context(tenant, BACKUP_PURPOSE)
        self._keyring = keyring
        self._sealer = Sealer(keyring)
        self._ledger = ledger
        self._chunk_size = chunk_size
        self._clock: Clock = clock or SystemClock()
        self._check_backup_only()

    @property
    def keyring(self) -> Keyring:
        """The backup keyring."""
        return self._keyring

    @property
    def context(self) -> Context:
        """The keyset that seals this sealer's backups: ``Context(tenant, "backup")``."""
        return self._ctx

    @property
    def chunk_size(self) -> int:
        return self._chunk_size

    def _check_backup_only(self) -> None:
        others = sorted({c.purpose for c in self._keyring.contexts()} - {BACKUP_PURPOSE})
        if others:
            raise ConfigurationError(
                f"a BackupSealer needs a keyring of its own, but this one (environment "
                f"{self._keyring.environment!r}) holds keysets of other purposes "
                f"({', '.join(map(repr, others))}): open the backup keyring from a separate "
                "keystore under a separate KEK, so that backups and live data never share "
                "keys"
            )

    # -- sealing -----------------------------------------------------------------------

    def seal_stream(self, src: BinaryIO, dst: BinaryIO, *, source: str = "") -> Manifest:
        """Encrypt everything `src` yields into `dst`, in constant memory.

        Args:
            source: a free-text label of what is backed up (manifest and ledger only).

        Returns:
            the manifest of the new backup.

        Raises:
            ConfigurationError: the keyring gained keysets of another purpose.
            PolicyError: the tenant was shredded (it cannot get new keys).
            TypeError: a text stream, or `source` is not a str.
        """
        return self._seal(src, dst, source, source)

    def seal_file(
        self,
        src_path: str | os.PathLike[str],
        dst_path: str | os.PathLike[str],
        *,
        source: str | None = None,
        overwrite: bool = False,
    ) -> Manifest:
        """Back up the file `src_path` to `dst_path`, and write ``<dst_path>.manifest.json``.

        `dst_path` appears only once complete and synced (temporary file, fsync, rename).

        Args:
            source: the manifest's label (default: `src_path`).
            overwrite: replace an existing `dst_path` (refused by default).

        Raises:
            ConfigurationError: `dst_path` exists, or a file cannot be read or written.
        """
        dst = Path(dst_path)
        label = str(src_path) if source is None else source
        try:
            with open(src_path, "rb") as src, atomic_output(dst, overwrite=overwrite) as out:
                manifest = self._seal(src, out, label, None)
        except OSError as e:
            raise ConfigurationError(
                f"cannot back up {src_path} to {dst}: {e.strerror or e}"
            ) from None
        self._write_manifest(manifest_path(dst), manifest)
        self._record(manifest, str(dst))
        return manifest

    @staticmethod
    def _write_manifest(path: Path, manifest: Manifest) -> None:
        try:
            _atomic_write(path, manifest.dumps())
        except OSError as e:
            raise ConfigurationError(f"cannot write {path}: {e.strerror or e}") from None

    def _seal(self, src: BinaryIO, dst: BinaryIO, source: str, location: str | None) -> Manifest:
        if not isinstance(source, str):
            raise TypeError("source must be a str")
        self._check_backup_only()
        created = require_aware("clock.now()", self._clock.now()).astimezone(UTC)
        header = fmt.Header.build(secrets.token_bytes(16), fmt.to_micros(created), self._chunk_size)
        dek = Secret(os.urandom(32))
        header = header._replace(
            sealed_dek=self._sealer.seal(dek.reveal(), self._ctx, aad=header.dek_aad)
        )
        raw = header.raw
        digest = hashlib.sha256(raw)
        dst.write(raw)
        count, total = seal_chunks(src, dst, header, dek, digest)
        manifest = self._manifest(header, count, total, digest.hexdigest(), source)
        if location is not None:
            self._record(manifest, location)
        return manifest

    def _record(self, manifest: Manifest, location: str) -> None:
        if self._ledger is not None:
            self._ledger.record_usage(
                self._keyring.environment,
                self._ctx,
                dataset=f"backup:{manifest.backup_id}",
                kids={manifest.kid: 1},
                kind="backup",
                location=location,
            )

    # -- opening -----------------------------------------------------------------------

    def open_stream(self, src: BinaryIO, dst: BinaryIO) -> Manifest:
        """Verify and decrypt a backup from `src` into `dst`, in constant memory.

        Each chunk is written to `dst` once it has verified, so after a failure `dst`
        may hold a verified prefix: discard it (`restore_file` does). The backup is
        complete only when this returns.

        Returns:
            the manifest derived from the authenticated header and the chunks read
            (`source` is empty: the label is not part of the backup).

        Raises:
            DecryptionError: for every way a backup can fail to open: not a backup,
                another version, truncated, extended, chunks dropped, repeated or
                reordered, tampered, another tenant or keyring, a shredded tenant (its
                `.reason` says which, for internal logs).
            TypeError: a text stream.
        """
        return self._open(src, dst)

    def _open(self, src: BinaryIO, dst: Sink) -> Manifest:
        digest = hashlib.sha256()
        header = fmt.read_header(src)
        digest.update(header.raw)
        dek = self._unseal(header)
        count, total = open_chunks(src, dst, header, dek, digest)
        return self._manifest(header, count, total, digest.hexdigest(), "")

    def restore_file(
        self,
        src_path: str | os.PathLike[str],
        dst_path: str | os.PathLike[str],
        *,
        overwrite: bool = False,
    ) -> Manifest:
        """Restore the backup `src_path` into `dst_path`.

        The data goes to a temporary file that is renamed to `dst_path` only after the
        final chunk verified: a failed restore leaves no partial file behind.

        Raises:
            DecryptionError: as `open_stream` (and `dst_path` is untouched).
            ConfigurationError: `dst_path` exists (without `overwrite=True`), or a file
                cannot be read or written.
        """
        dst = Path(dst_path)
        try:
            with open(src_path, "rb") as src, atomic_output(dst, overwrite=overwrite) as out:
                return self.open_stream(src, out)
        except OSError as e:
            raise ConfigurationError(
                f"cannot restore {src_path} to {dst}: {e.strerror or e}"
            ) from None

    def verify_manifest(
        self,
        path: str | os.PathLike[str],
        manifest: str | os.PathLike[str] | Manifest | None = None,
    ) -> Manifest:
        """Check a manifest against its backup, which is opened in full (nothing written).

        Args:
            manifest: the manifest to check (default: ``<path>.manifest.json``).

        Returns:
            the verified manifest.

        Raises:
            DecryptionError: the backup does not open.
            VerificationError: the manifest is unreadable (``malformed``) or differs from
                the backup (``digest_mismatch``).
            ConfigurationError: a file cannot be read.
        """
        if not isinstance(manifest, Manifest):
            where = manifest_path(path) if manifest is None else Path(manifest)
            try:
                manifest = Manifest.from_json(where.read_bytes())
            except OSError as e:
                raise ConfigurationError(f"cannot read {where}: {e.strerror or e}") from None
            except ValueError:
                raise VerificationError(Reason.MALFORMED) from None
        try:
            with open(path, "rb") as src:
                actual = self._open(src, _Discard())
        except OSError as e:
            raise ConfigurationError(f"cannot read {path}: {e.strerror or e}") from None
        if actual.differences(manifest):
            raise VerificationError(Reason.DIGEST_MISMATCH)
        return manifest

    # -- re-keying ---------------------------------------------------------------------

    def rewrap_header(self, path: str | os.PathLike[str]) -> bool:
        """Re-seal the backup's data key under the keyset's current primary key.

        Only the header changes (atomically: a new file renamed over the old one); the
        chunks are copied as they are. An existing ``<path>.manifest.json`` is rewritten
        and the ledger record updated. This protects the backup from later exposure of
        the old key. It does not help if the old key was compromised while someone
        already held the backup: they may have the data key, so restore and seal anew.

        Returns:
            True if the data key moved to another key, False if it already was under
            the primary.

        Raises:
            DecryptionError: the data key does not open (as `open_stream`), or the file
                is not a whole number of chunks (``malformed``).
            PolicyError: the tenant was shredded.
            ConfigurationError: the file cannot be read or written.
        """
        p = Path(path)
        try:
            with open(p, "rb") as src:
                header = fmt.read_header(src)
                size = os.fstat(src.fileno()).st_size
                count, total = chunk_counts(size - len(header.raw), header.chunk_size)
                resealed = self._sealer.rewrap(header.sealed_dek, self._ctx, header.dek_aad)
                if hmac.compare_digest(resealed, header.sealed_dek):
                    return False
                new = header._replace(sealed_dek=resealed)
                digest = hashlib.sha256(new.raw)
                with atomic_output(p, overwrite=True) as out:
                    out.write(new.raw)
                    while block := src.read(_COPY):
                        out.write(block)
                        digest.update(block)
        except OSError as e:
            raise ConfigurationError(f"cannot re-key {p}: {e.strerror or e}") from None
        mpath = manifest_path(p)
        try:
            old: bytes | None = mpath.read_bytes()
        except OSError:
            old = None  # no manifest to keep up to date
        try:
            source = Manifest.from_json(old).source if old is not None else ""
        except ValueError:
            source = ""  # an unreadable manifest is replaced; only its label is lost
        manifest = self._manifest(new, count, total, digest.hexdigest(), source)
        if old is not None:
            self._write_manifest(mpath, manifest)
        self._record(manifest, str(p))
        return True

    # -- helpers -----------------------------------------------------------------------

    def _unseal(self, header: fmt.Header) -> Secret:
        """The data key of a backup (authenticates the fixed header as a side effect)."""
        dek = self._sealer.open(header.sealed_dek, self._ctx, aad=header.dek_aad)
        if len(dek) != 32:
            raise DecryptionError(Reason.MALFORMED)
        return Secret(dek)

    def _manifest(
        self, header: fmt.Header, count: int, total: int, sha256: str, source: str
    ) -> Manifest:
        blob = read_blob_header(header.sealed_dek)
        assert blob is not None  # sealed or opened by the Sealer: a whole blob
        return Manifest(
            backup_id=header.backup_id.hex(),
            environment=self._keyring.environment,
            tenant=self._ctx.tenant,
            purpose=BACKUP_PURPOSE,
            kid=blob.kid,
            created=fmt.from_micros(header.created_us),
            chunk_size=header.chunk_size,
            chunk_count=count,
            plaintext_bytes=total,
            sha256=sha256,
            source=source,
        )


class _Discard:
    """A sink for `verify_manifest`: verified plaintext goes nowhere."""

    def write(self, data: bytes) -> int:
        return len(data)
