# expect: none
"""Tracing for the partner API: capture a few headers; sanitize credentials by name."""

import os

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor


def instrument(app: FastAPI) -> None:
    os.environ.setdefault(
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST",
        "content-type,x-request-id,x-partner-id",
    )
    # belt and braces: even if someone widens the list above, these never reach a span
    os.environ.setdefault(
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS",
        "authorization,cookie,set-cookie,.*token.*,.*session.*",
    )
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/healthz")
