"""Web integration: signed-request verification and idempotency for web frameworks.

The adapters live in their own modules, each importing its framework, so importing this
package needs neither: `cryptorails.integrations.asgi` (Starlette, FastAPI, any ASGI
app) and `cryptorails.integrations.flask`. Both refuse every failed verification with the
same 401 response and report the cause only through the rate-limited ``verify_failed``
event on the ``cryptorails.verify`` logger (`FailureLog`).
"""

from cryptorails.integrations._failures import FailureDetails, FailureLog
from cryptorails.integrations._responses import (
    STORED_HEADERS,
    UNAUTHORIZED,
    ErrorResponse,
    StoredResponse,
    fingerprint,
)
from cryptorails.integrations._verify import RequestCheck, Verified, WebhookCheck

__all__ = [
    "STORED_HEADERS",
    "UNAUTHORIZED",
    "ErrorResponse",
    "FailureDetails",
    "FailureLog",
    "RequestCheck",
    "StoredResponse",
    "Verified",
    "WebhookCheck",
    "fingerprint",
]
