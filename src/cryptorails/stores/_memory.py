"""A store in a dict, for tests. Not reachable through `open_store`.

A replay guard on per-process memory is exactly failure case 4 (each server behind the
load balancer accepts the replay once), so this store is only offered from
`cryptorails.testing`.
"""

from __future__ import annotations

import threading

from cryptorails.clock import Clock, SystemClock
from cryptorails.stores._base import StoreBase, add_counter

__all__ = ["MemoryStore"]


class MemoryStore(StoreBase):
    """A `Store` in this process's memory, with expiry by `clock.now()` (default system).

    `with_namespace` gives another view of the same data, as a second `open_store` on the
    same URL would.
    """

    def __init__(self, *, namespace: str = "cryptorails", clock: Clock | None = None) -> None:
        super().__init__(namespace)
        self._clock = clock or SystemClock()
        self._all: dict[tuple[str, str], tuple[bytes, int | None]] = {}
        self._lock = threading.Lock()

    def with_namespace(self, namespace: str) -> MemoryStore:
        """A store on the same data and clock, in `namespace`."""
        view = MemoryStore(namespace=namespace, clock=self._clock)
        view._all, view._lock = self._all, self._lock
        return view

    def _now(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    def _live(self, key: str, now: int) -> bytes | None:
        entry = self._all.get((self.namespace, key))
        if entry is None:
            return None
        if entry[1] is not None and entry[1] <= now:
            del self._all[(self.namespace, key)]
            return None
        return entry[0]

    def _set(self, key: str, value: bytes, now: int, ttl_ms: int | None) -> None:
        self._all[(self.namespace, key)] = (value, None if ttl_ms is None else now + ttl_ms)

    def _claim(self, key: str, value: bytes, ttl_ms: int) -> bool:
        with self._lock:
            now = self._now()
            if self._live(key, now) is not None:
                return False
            self._set(key, value, now, ttl_ms)
            return True

    def _get(self, key: str) -> bytes | None:
        with self._lock:
            return self._live(key, self._now())

    def _compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl_ms: int | None
    ) -> bool:
        with self._lock:
            now = self._now()
            if self._live(key, now) != expected:
                return False
            if new is None:
                self._all.pop((self.namespace, key), None)
            else:
                self._set(key, new, now, ttl_ms)
            return True

    def _add(self, key: str, amount: int, ttl_ms: int | None) -> int:
        with self._lock:
            now = self._now()
            current = self._live(key, now)
            total = add_counter(current, amount)
            if current is None:
                self._set(key, str(total).encode(), now, ttl_ms)
            else:
                k = (self.namespace, key)
                self._all[k] = (str(total).encode(), self._all[k][1])
            return total

    def _delete(self, key: str) -> bool:
        with self._lock:
            if self._live(key, self._now()) is None:
                return False
            del self._all[(self.namespace, key)]
            return True

    def _close(self) -> None:
        # Nothing to release: the data lives as long as any view of it. Only this view
        # refuses further calls, like a closed connection to a shared server.
        pass
