# expect: none
"""Request ids and timing for the worker logs."""

import itertools
import logging
import time

log = logging.getLogger(__name__)
_request_numbers = itertools.count(1)
_jobs_done = 0


def next_request_id(worker: str) -> str:
    return f"{worker}-{next(_request_numbers):08d}"


def run_job(worker: str, job) -> None:
    global _jobs_done
    request_id = next_request_id(worker)
    started = time.time()
    job.run()
    _jobs_done += 1
    log.info(
        "job finished", extra={"request_id": request_id, "seconds": time.time() - started}
    )
