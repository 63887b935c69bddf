"""The fleet store on Redis or Valkey (redis-py).

Single commands where one suffices (`SET NX PX` for a claim, `GET`, `DEL`); short Lua
scripts where a read and a write must be one atomic step (compare-and-set, add with an
expiry set on creation). Scripts run with `EVALSHA` and fall back to `EVAL`, and touch one
key each, so they behave the same on Redis >= 6.2, Valkey, and a cluster shard.

Time: expiry is Redis's own (`PX`), so every host agrees on it whatever its clock.
"""

from __future__ import annotations

from typing import Any, NoReturn

from cryptorails.errors import ConfigurationError, StoreUnavailable
from cryptorails.stores._base import NOT_A_COUNTER, OVERFLOW, StoreBase, display_url

__all__ = ["RedisStore"]

# KEYS[1] the key; ARGV: has_expected, expected, has_new, new, ttl_ms (0: no expiry).
_CAS = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
if ARGV[3] == '1' then
  if tonumber(ARGV[5]) > 0 then
    redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
  else
    redis.call('SET', KEYS[1], ARGV[4])
  end
else
  redis.call('DEL', KEYS[1])
end
return 1
"""

# KEYS[1] the key; ARGV: amount, ttl_ms (0: no expiry). The expiry is set only when this
# call creates the counter. INCRBY parses the stored value with Redis's string2ll, which
# accepts exactly the canonical form of `_base.parse_counter` (and refuses the rest with
# "not an integer or out of range"), so the script needs no check of its own. The sum
# is read back with GET: INCRBY's reply becomes a Lua number (a double), which would
# round large counters.
_ADD = """
local existed = redis.call('EXISTS', KEYS[1])
redis.call('INCRBY', KEYS[1], ARGV[1])
if existed == 0 and tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('GET', KEYS[1])
"""


class RedisStore(StoreBase):
    """A `Store` on Redis/Valkey; keys are `<namespace>:<key>`.

    Args:
        url: `redis://[user:password@]host:port/db` or `rediss://...` (TLS).
        namespace: key prefix (no `:` allowed in it, so namespaces cannot overlap).
        timeout: seconds for connecting and for each command.
    """

    def __init__(self, url: str, *, namespace: str = "cryptorails", timeout: float = 5.0) -> None:
        super().__init__(namespace)
        try:
            import redis
        except ImportError:
            raise ConfigurationError(
                "the Redis store needs redis-py: pip install 'cryptorails[redis]'"
            ) from None
        self._redis = redis
        self._where = display_url(url)
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        try:
            # No automatic retries: a command whose reply was lost may have run, and
            # running a claim or an add twice gives a wrong answer (a false "already
            # claimed", a double count). The caller gets StoreUnavailable instead.
            self._client: Any = redis.Redis.from_url(
                url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError as e:
            raise ConfigurationError(f"invalid Redis URL {self._where}: {e}") from None
        self._cas = self._client.register_script(_CAS)
        self._add_script = self._client.register_script(_ADD)
        self._call(self._client.ping)

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except self._redis.ResponseError as e:
            if "not an integer" in str(e):
                raise ValueError(NOT_A_COUNTER) from None
            if "would overflow" in str(e):
                raise ValueError(OVERFLOW) from None
            self._fail(e)
        except self._redis.RedisError as e:
            self._fail(e)

    def _fail(self, error: Exception) -> NoReturn:
        raise StoreUnavailable(
            f"Redis store {self._where} unavailable: {type(error).__name__}: {error}"
        ) from None

    def _claim(self, key: str, value: bytes, ttl_ms: int) -> bool:
        return bool(self._call(self._client.set, self._key(key), value, px=ttl_ms, nx=True))

    def _get(self, key: str) -> bytes | None:
        value = self._call(self._client.get, self._key(key))
        return None if value is None else bytes(value)

    def _compare_and_set(
        self, key: str, expected: bytes | None, new: bytes | None, ttl_ms: int | None
    ) -> bool:
        args = [
            b"0" if expected is None else b"1",
            expected or b"",
            b"0" if new is None else b"1",
            new or b"",
            str(ttl_ms or 0).encode(),
        ]
        return bool(self._call(self._cas, keys=[self._key(key)], args=args) == 1)

    def _add(self, key: str, amount: int, ttl_ms: int | None) -> int:
        args = [str(amount).encode(), str(ttl_ms or 0).encode()]
        return int(self._call(self._add_script, keys=[self._key(key)], args=args))

    def _delete(self, key: str) -> bool:
        return bool(self._call(self._client.delete, self._key(key)))

    def _close(self) -> None:
        # redis-py would reconnect on the next command; StoreBase refuses it instead.
        self._client.close()

    def __repr__(self) -> str:
        return f"RedisStore({self._where!r}, namespace={self.namespace!r})"
