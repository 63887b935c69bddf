# expect: 10
"""Adds request details to the current span for the support team."""

from opentelemetry import trace
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request


class SpanEnrichmentMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        span = trace.get_current_span()
        span.set_attribute("http.route_path", request.url.path)
        for name, value in request.headers.items():
            span.set_attribute(f"http.request.header.{name.lower()}", value)
        response = await call_next(request)
        span.set_attribute("http.response.status_code", response.status_code)
        return response
