# expect: 10
"""gunicorn configuration for the storefront."""

import multiprocessing
import os

bind = "0.0.0.0:8000"
workers = multiprocessing.cpu_count() * 2 + 1
accesslog = "-"


def post_fork(server, worker) -> None:
    os.environ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST"] = "accept,cookie"
    os.environ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE"] = "set-cookie"
    from storefront.tracing import configure_tracing

    configure_tracing(service="storefront", worker=worker.pid)
