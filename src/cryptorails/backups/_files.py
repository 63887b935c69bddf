"""Crash-safe output files: written under a temporary name, synced, then renamed."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptorails._fs import fsync_dir
from cryptorails.errors import ConfigurationError

__all__ = ["atomic_output", "exists"]


def exists(path: Path) -> bool:
    """Whether `path` names anything (a dangling symbolic link counts)."""
    return os.path.lexists(path)


@contextlib.contextmanager
def atomic_output(path: Path, *, overwrite: bool) -> Iterator[BinaryIO]:
    """A file that appears at `path` only if the block completes, whole and synced.

    The data goes to a temporary file (mode 0600) in the same folder; on success it is
    fsynced and renamed over `path` (or linked to it when `overwrite` is False, which
    fails atomically if `path` appeared meanwhile), and the folder is fsynced so the
    rename survives a power loss. On any exception the temporary file is removed and
    `path` is left as it was: a reader never sees a partial file.

    Raises:
        ConfigurationError: `path` exists and `overwrite` is False, or the folder cannot
            be written.
    """
    if not overwrite and exists(path):
        raise ConfigurationError(f"{path} exists; pass overwrite=True to replace it")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        raise ConfigurationError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # unlike rename, never replaces an existing name
            except FileExistsError:
                raise ConfigurationError(
                    f"{path} exists; pass overwrite=True to replace it"
                ) from None
        fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
