# expect: 9
"""Copies the Redis snapshot (sessions, carts, rate-limit state) to the backup share."""

import subprocess
from datetime import UTC, datetime
from pathlib import Path

SHARE = Path("/mnt/backup-share/redis")


def snapshot_redis(host: str = "redis", port: int = 6379) -> Path:
    SHARE.mkdir(parents=True, exist_ok=True)
    target = SHARE / f"dump-{datetime.now(UTC):%Y%m%dT%H%M}.rdb"
    subprocess.run(
        ["redis-cli", "-h", host, "-p", str(port), "--rdb", str(target)],
        check=True,
        timeout=600,
    )
    return target
