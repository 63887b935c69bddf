# expect: none
"""Client-side load balancing over read replicas."""

import random
import time
from dataclasses import dataclass, field


@dataclass
class Replica:
    dsn: str
    healthy: bool = True
    last_failure: float = 0.0


@dataclass
class ReplicaPool:
    replicas: list[Replica]
    cooldown: float = 30.0
    _rng: random.Random = field(default_factory=random.Random)

    def pick(self) -> Replica:
        now = time.monotonic()
        live = [r for r in self.replicas if r.healthy or now - r.last_failure > self.cooldown]
        if not live:
            raise RuntimeError("no healthy replica")
        return self._rng.choice(live)

    def mark_failed(self, replica: Replica) -> None:
        replica.healthy = False
        replica.last_failure = time.monotonic()
