# expect: 1
"""Session store for the kiosk backend."""

from random import choices as pick
from string import ascii_letters, digits

from redis import Redis

SESSION_TTL = 8 * 3600
_ALPHABET = ascii_letters + digits


class SessionStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    @staticmethod
    def _new_session_id() -> str:
        return "".join(pick(_ALPHABET, k=32))

    def create(self, kiosk: str, operator: str) -> str:
        session_id = self._new_session_id()
        self._redis.hset(f"session:{session_id}", mapping={"kiosk": kiosk, "op": operator})
        self._redis.expire(f"session:{session_id}", SESSION_TTL)
        return session_id
