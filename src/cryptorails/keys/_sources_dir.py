"""`FileDirectory`: sealed blobs as the regular files of one directory."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from cryptorails.errors import ConfigurationError
from cryptorails.keys._sources import (
    Finish,
    Outcome,
    Row,
    RowKey,
    Update,
    check_job,
    check_run,
    dump_record,
    load_record,
)

__all__ = ["FileDirectory"]

_CHECKPOINT_PREFIX = ".cryptorails-rewrap-"
_TEMP_PREFIX = ".cryptorails-tmp-"
# A file larger than the largest blob a Sealer opens is not a blob; reading stops there.
_MAX_FILE_BYTES = 2**31
_HEADER_BYTES = 6  # aead/_format.HEADER_SIZE: a usage scan reads no more


class FileDirectory:
    """A directory whose regular files matching `pattern` are one sealed blob each.

    Files are visited in name order. A rewrapped file is replaced atomically: the new
    blob goes to a temporary file in the same directory (same mode bits), which is
    fsynced and renamed over the original, and the directory is fsynced. Symbolic links
    are never followed: linked entries are skipped and every file is opened relative to
    the directory with ``O_NOFOLLOW``. The checkpoint is a hidden file
    ``.cryptorails-rewrap-<job>.json`` in the directory.

    Files have no row lock: the compare-and-swap re-reads a file just before the rename,
    so a writer that replaces it in that instant may lose its write. Run rewrap on a
    directory that is not being rewritten, or on a copy. Nor can a batch's renames and
    its checkpoint be one transaction: after a crash between them, the files renamed
    already are found under the primary on the rerun and counted as current.

    Args:
        path: the directory (not a symbolic link).
        pattern: a glob matched against file names (case-sensitive), e.g. ``*.bin``.
        aad_from_name: bind each file's name (UTF-8) as aad; default: no aad.

    Raises:
        ConfigurationError: not a directory, or a symbolic link.
    """

    def __init__(
        self, path: str | os.PathLike[str], pattern: str = "*", *, aad_from_name: bool = False
    ) -> None:
        if not isinstance(pattern, str) or not pattern or "/" in pattern or "\0" in pattern:
            raise ValueError("pattern must be a non-empty glob without '/'")
        self._path = Path(os.path.abspath(path))
        self._pattern = pattern
        self._aad_from_name = bool(aad_from_name)
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            self._fd: int | None = os.open(self._path, flags)
        except OSError as e:
            link = e.errno in (errno.ELOOP, errno.ENOTDIR) and self._path.is_symlink()
            reason = "a symbolic link" if link else e.strerror
            raise ConfigurationError(f"cannot use directory {self._path}: {reason}") from None

    @property
    def name(self) -> str:
        suffix = "" if self._pattern == "*" else f"#{self._pattern}"
        return f"dir:{self._path}{suffix}"

    @property
    def location(self) -> str:
        return str(self._path)

    @property
    def binding(self) -> str:
        return f"key=name aad={'name' if self._aad_from_name else 'none'} tenant=fixed"

    @property
    def per_row_tenant(self) -> bool:
        return False

    def _dir(self) -> int:
        if self._fd is None:
            raise ConfigurationError(f"directory source {self._path} is closed")
        return self._fd

    def _names(self) -> list[str]:
        names = []
        with os.scandir(self._dir()) as it:
            for entry in it:
                name = entry.name
                if name.startswith((_CHECKPOINT_PREFIX, _TEMP_PREFIX)):
                    continue
                if fnmatchcase(name, self._pattern) and entry.is_file(follow_symlinks=False):
                    names.append(name)
        names.sort()
        return names

    def count(self) -> int:
        return len(self._names())

    def rows(
        self, after: RowKey | None, size: int, *, header_only: bool = False
    ) -> Iterator[list[Row]]:
        if after is not None and not isinstance(after, str):
            raise ConfigurationError("a directory checkpoint names a file, not another key")
        # One listing per run: files created later are sealed under the current primary.
        names = [n for n in self._names() if after is None or n > after]
        limit = _HEADER_BYTES if header_only else _MAX_FILE_BYTES
        for start in range(0, len(names), size):
            batch = []
            for name in names[start : start + size]:
                value = self._read(name, limit)
                if value is not None:
                    aad = name.encode("utf-8", "surrogateescape") if self._aad_from_name else None
                    batch.append(Row(name, value, aad))
            if batch:
                yield batch

    def _read(self, name: str, limit: int) -> bytes | None:
        """The file's bytes, or None if it vanished or is no longer a regular file."""
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(name, flags, dir_fd=self._dir())
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ELOOP):
                return None
            raise
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return f.read(limit)

    def load_progress(self, job: str) -> dict[str, Any] | None:
        raw = self._read(_CHECKPOINT_PREFIX + check_job(job) + ".json", 1 << 20)
        return None if raw is None else load_record(raw, str(self._path))

    def save_progress(self, job: str, record: dict[str, Any], *, run: str | None) -> None:
        check_run(self.load_progress(job) if run else None, run, job, self.name)
        self._replace(_CHECKPOINT_PREFIX + check_job(job) + ".json", dump_record(record).encode())
        os.fsync(self._dir())

    def commit(
        self, job: str, updates: Sequence[Update], finish: Finish, *, run: str
    ) -> list[Outcome]:
        check_run(self.load_progress(job), run, job, self.name)
        outcomes = []
        for u in updates:
            assert isinstance(u.key, str)
            outcomes.append(self._swap(u.key, u.old, u.new))
        if updates:
            os.fsync(self._dir())  # the renames are durable before the checkpoint says so
        self.save_progress(job, finish(outcomes), run=None)
        return outcomes

    def _swap(self, name: str, old: bytes, new: bytes) -> Outcome:
        current = self._read(name, _MAX_FILE_BYTES)
        if current != old:
            return Outcome(False, current)
        mode = os.stat(name, dir_fd=self._dir(), follow_symlinks=False).st_mode
        self._replace(name, new, mode=stat.S_IMODE(mode))
        return Outcome(True)

    def _replace(self, name: str, data: bytes, *, mode: int = 0o600) -> None:
        """Write `data` to a new file and rename it over `name` (atomic on POSIX)."""
        dirfd = self._dir()
        temp = f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temp, flags, 0o600, dir_fd=dirfd)
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), mode)  # exact bits, whatever the umask
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=dirfd)
            raise

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
