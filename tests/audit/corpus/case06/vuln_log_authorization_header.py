# expect: 6
"""Request logging middleware for the API gateway."""

import logging

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request

access_log = logging.getLogger("gateway.access")


class AccessLogMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        response = await call_next(request)
        access_log.info(
            "%s %s -> %d auth=%s agent=%s",
            request.method,
            request.url.path,
            response.status_code,
            request.headers.get("authorization"),
            request.headers.get("user-agent"),
        )
        return response
