"""`open_store(url)`: one entry point for every backend."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from cryptorails.clock import Clock
from cryptorails.errors import ConfigurationError
from cryptorails.stores._base import Store

__all__ = ["open_store"]

_SCHEMES = "sqlite:///path, redis://host:port/db, rediss://..., postgresql://..."


def open_store(url: str, *, namespace: str = "cryptorails", clock: Clock | None = None) -> Store:
    """Open the store at `url`.

    - `sqlite:///var/lib/app/state.db` — the embedded default (absolute path after
      `sqlite://`, as in `file:` URLs; `sqlite:state.db` is relative to the working
      directory). Safe for the processes of one host; expiry by `clock` (default: system).
    - `redis://host:port/db`, `rediss://...` — Redis or Valkey; expiry by the server.
    - `postgresql://user@host:port/dbname` — expiry by the database server's clock.

    Args:
        url: where the store lives.
        namespace: separates the keys of independent users of one store (1-64 characters
            of A-Z a-z 0-9 _ . -).
        clock: SQLite only: the wall clock that decides expiry (tests pass a FixedClock).

    Raises:
        ConfigurationError: malformed or unsupported URL, missing driver, unusable file.
        StoreUnavailable: the server (or a locked SQLite file) did not answer in time.
    """
    if not isinstance(url, str):
        raise TypeError(f"store URL must be a str, not {type(url).__name__}")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ConfigurationError(f"malformed store URL; expected one of {_SCHEMES}") from None
    scheme = parts.scheme.lower()
    if scheme != "sqlite" and clock is not None:
        raise ConfigurationError(
            f"clock= applies to SQLite stores only; a {scheme or 'URL'} store uses its "
            "server's clock"
        )
    if scheme == "sqlite":
        from cryptorails.stores._sqlite import SQLiteStore

        if parts.netloc or parts.query or parts.fragment or not parts.path:
            raise ConfigurationError(
                "a SQLite store URL is sqlite:///absolute/path or sqlite:relative/path "
                "(no host, query or fragment)"
            )
        return SQLiteStore(unquote(parts.path), namespace=namespace, clock=clock)
    if scheme in ("redis", "rediss"):
        from cryptorails.stores._redis import RedisStore

        if not parts.hostname or not re.fullmatch(r"(/[0-9]*)?", parts.path):
            raise ConfigurationError(
                "a Redis store URL is redis://[user:password@]host:port/db (db a number)"
            )
        return RedisStore(url, namespace=namespace)
    if scheme in ("postgresql", "postgres"):
        from cryptorails.stores._postgres import PostgresStore

        return PostgresStore(url, namespace=namespace)
    raise ConfigurationError(f"unsupported store URL scheme {scheme!r}; expected one of {_SCHEMES}")
