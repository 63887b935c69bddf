# expect: 10
"""Flask request hooks that annotate the active span."""

from flask import Flask, request
from opentelemetry import trace

app = Flask(__name__)


@app.before_request
def annotate_span() -> None:
    span = trace.get_current_span()
    span.set_attribute("app.user_agent", request.headers.get("User-Agent", ""))
    span.set_attribute("http.request.header.cookie", request.headers.get("Cookie", ""))
    span.set_attribute(
        "http.request.header.authorization", request.headers.get("Authorization", "")
    )
