# expect: none
"""Request logging middleware that never writes credentials."""

import logging

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request

access_log = logging.getLogger("gateway.access")
SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-api-key"})


def loggable_headers(headers) -> dict[str, str]:
    return {
        name: ("[redacted]" if name.lower() in SENSITIVE_HEADERS else value)
        for name, value in headers.items()
    }


class AccessLogMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        response = await call_next(request)
        access_log.info(
            "%s %s -> %d headers=%s",
            request.method,
            request.url.path,
            response.status_code,
            loggable_headers(request.headers),
        )
        return response
