# expect: none
"""Request timing middleware."""

import logging
import time

from prometheus_client import Histogram

log = logging.getLogger("access")
LATENCY = Histogram("http_request_seconds", "Request latency", ["route"])


class TimingMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        started = time.time()
        cpu_started = time.process_time()
        try:
            return self.app(environ, start_response)
        finally:
            elapsed = time.time() - started
            LATENCY.labels(environ.get("PATH_INFO", "?")).observe(elapsed)
            log.info(
                "%s %s %.1fms cpu=%.1fms",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                elapsed * 1000,
                (time.process_time() - cpu_started) * 1000,
            )
