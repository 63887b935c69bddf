"""Keep secrets out of logs and traces.

One `RedactionPolicy` decides what is masked; adapters apply it at each sink:

* stdlib logging: `RedactingFilter`, attached to handlers by `install`;
* structlog: `RedactProcessor`, placed before the renderer;
* OpenTelemetry: `RedactingSpanExporter` around the real exporter, and
  `safe_header_capture` for the HTTP instrumentations' header capture.

`Plaintext` and `Claims` are the marked results of ``Sealer(..., mark_plaintext=True)``
and ``TokenVerifier(..., mark_claims=True)``; the policy masks them by type.
"""

from typing import TYPE_CHECKING, Any

from cryptorails._sensitive import Claims, Plaintext
from cryptorails.redact._detectors import Found, find_secrets
from cryptorails.redact._http import (
    SENSITIVE_HEADERS,
    SENSITIVE_QUERY_PARAMETERS,
    safe_header_capture,
)
from cryptorails.redact._known import KnownMaterial
from cryptorails.redact._logging import RedactingFilter, install
from cryptorails.redact._names import DEFAULT_ALLOW_NAMES, DEFAULT_DENY_NAMES, normalize_name
from cryptorails.redact._policy import REDACTION_FAILED, RedactionPolicy
from cryptorails.redact._structlog import RedactProcessor

if TYPE_CHECKING:
    from cryptorails.redact._otel import RedactingSpanExporter

__all__ = [
    "DEFAULT_ALLOW_NAMES",
    "DEFAULT_DENY_NAMES",
    "REDACTION_FAILED",
    "SENSITIVE_HEADERS",
    "SENSITIVE_QUERY_PARAMETERS",
    "Claims",
    "Found",
    "KnownMaterial",
    "Plaintext",
    "RedactProcessor",
    "RedactingFilter",
    "RedactingSpanExporter",
    "RedactionPolicy",
    "find_secrets",
    "install",
    "normalize_name",
    "safe_header_capture",
]


def __getattr__(name: str) -> Any:
    # The exporter subclasses OpenTelemetry's SpanExporter, and opentelemetry-sdk is an
    # optional extra: import it when asked for, so the rest works without the extra.
    if name == "RedactingSpanExporter":
        from cryptorails.redact._otel import RedactingSpanExporter

        return RedactingSpanExporter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
