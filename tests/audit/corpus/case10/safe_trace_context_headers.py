# expect: none
"""Propagates W3C trace context to downstream calls and records safe request metadata."""

import requests
from opentelemetry import trace
from opentelemetry.propagate import inject

tracer = trace.get_tracer("orders.client")
PROPAGATED = ("traceparent", "tracestate")


def call_inventory(url: str, order_ref: str) -> dict:
    with tracer.start_as_current_span("inventory.reserve") as span:
        headers: dict[str, str] = {"Accept": "application/json"}
        inject(headers)
        span.set_attribute("app.order_ref", order_ref)
        span.set_attribute("app.propagated", ",".join(h for h in PROPAGATED if h in headers))
        response = requests.post(url, json={"order": order_ref}, headers=headers, timeout=5)
        span.set_attribute("http.response.status_code", response.status_code)
        return response.json()
