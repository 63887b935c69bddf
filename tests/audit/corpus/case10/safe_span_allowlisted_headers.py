# expect: none
"""Adds a few request headers to the current span; credentials are never copied."""

from opentelemetry import trace
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request

TRACED_HEADERS = ("user-agent", "x-request-id", "x-client-version", "accept-language")


class SpanEnrichmentMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        span = trace.get_current_span()
        for name in TRACED_HEADERS:
            value = request.headers.get(name)
            if value is not None:
                span.set_attribute(f"http.request.header.{name}", value)
        span.set_attribute("app.has_credentials", "authorization" in request.headers)
        response = await call_next(request)
        span.set_attribute("http.response.status_code", response.status_code)
        return response
