"""What the web adapters may say about a refused request in the `verify_failed` event.

The HTTP reply to a failed verification is the same whatever failed; the cause goes to
`cryptorails.diagnostics.FailureLog` instead (redacted, rate-limited, on the
``cryptorails.verify`` logger). The event never carries the token, a signature, a header
value or the body: only the tenant, the key id when it names a trusted key, the
algorithm, the scheme, the provider versions and the reason code.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptorails.diagnostics import FailureLog

__all__ = ["FailureDetails", "FailureLog"]


@dataclass(frozen=True)
class FailureDetails:
    """What may be said about a failed verification (nothing attacker-chosen).

    Args:
        scheme: ``standard-webhooks``, ``stripe``, ``slack``, ``github`` or ``rfc9421``.
        algorithm: the algorithm involved, when known (e.g. ``hmac-sha256``).
        key_id: the id of a trusted key the request named; None when the named key is
            not trusted (an attacker's free text never reaches the log).
    """

    scheme: str
    algorithm: str | None = None
    key_id: str | None = None
