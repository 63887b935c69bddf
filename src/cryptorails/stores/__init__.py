"""Shared state for replay windows, idempotency records and counters.

One small protocol (`Store`) and three backends opened by URL with `open_store`: SQLite
(embedded default, one host), Redis/Valkey and PostgreSQL (fleets). All three pass the
same contract test suite. Callers store ids, hashes and fingerprints — never secrets.
"""

from cryptorails.errors import StoreUnavailable
from cryptorails.stores._base import Store
from cryptorails.stores._open import open_store
from cryptorails.stores._postgres import PostgresStore
from cryptorails.stores._redis import RedisStore
from cryptorails.stores._sqlite import SQLiteStore

__all__ = ["PostgresStore", "RedisStore", "SQLiteStore", "Store", "StoreUnavailable", "open_store"]
