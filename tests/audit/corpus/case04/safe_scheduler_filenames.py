# expect: none
"""Nightly report scheduler."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPORT_DIR = Path("/srv/reports")


def report_path(kind: str) -> Path:
    # local date in the file name, for the humans who browse the share
    return REPORT_DIR / f"{kind}-{datetime.now().strftime('%Y-%m-%d')}.csv"


def next_run(hour: int = 2) -> datetime:
    now = datetime.now(UTC)
    run = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return run if run > now else run + timedelta(days=1)


def run_forever(job) -> None:
    while True:
        wait = (next_run() - datetime.now(UTC)).total_seconds()
        time.sleep(max(wait, 0))
        started = time.time()
        job(report_path("sales"))
        print(f"report took {time.time() - started:.1f}s")
