# expect: none
"""Tracing bootstrap: only named, harmless headers are captured."""

import os

from flask import Flask
from opentelemetry.instrumentation.flask import FlaskInstrumentor

SAFE_REQUEST_HEADERS = "content-type,content-length,user-agent,x-request-id"
SAFE_RESPONSE_HEADERS = "content-type,content-length,x-request-id"

os.environ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST"] = SAFE_REQUEST_HEADERS
os.environ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE"] = SAFE_RESPONSE_HEADERS


def setup_tracing(app: Flask) -> None:
    FlaskInstrumentor().instrument_app(app, excluded_urls="healthz,metrics")
