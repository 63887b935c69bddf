# expect: 10
"""ASGI tracing setup for the partner API."""

import os

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

CAPTURED_REQUEST_HEADERS = "content-type,x-request-id,authorization,x-partner-id"


def instrument(app: FastAPI) -> None:
    os.environ.setdefault(
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", CAPTURED_REQUEST_HEADERS
    )
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/healthz")
