"""Framework-free signed-request checking shared by the ASGI and Flask adapters.

An adapter gathers the request (method, target URI, header lines, body bytes) and asks
`RequestCheck.check`; it gets back either the verified request or the one reply to send.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptorails.errors import Reason, StoreUnavailable, VerificationError
from cryptorails.httpsig import HttpMessage, VerifiedSignature, Verifier, unverified_keyids
from cryptorails.integrations._failures import FailureDetails, FailureLog
from cryptorails.integrations._responses import UNAUTHORIZED, UNAVAILABLE, ErrorResponse
from cryptorails.webhooks import GitHubVerifier, SlackVerifier, StripeVerifier, WebhookVerifier

__all__ = ["RequestCheck", "Verified", "WebhookCheck", "principal_of"]

# Standard Webhooks signature versions (a fixed vocabulary, so safe to log).
_VERSIONS = {"v1": "hmac-sha256", "v1a": "ed25519"}
_HMAC_SCHEMES: dict[type, str] = {
    StripeVerifier: "stripe",
    SlackVerifier: "slack",
    GitHubVerifier: "github",
}


@runtime_checkable
class WebhookCheck(Protocol):
    """A webhook verifier: `WebhookVerifier`, `StripeVerifier`, `SlackVerifier`,
    `GitHubVerifier`, or anything with the same `verify`."""

    def verify(self, headers: Mapping[str, str], body: bytes) -> bytes: ...


@dataclass(frozen=True)
class Verified:
    """A request that passed: its body, for RFC 9421 what the signature covered, and the
    principal that signed it (tenant, scheme and, for RFC 9421, the trusted keyid).

    Idempotency keys are scoped to the principal, so one sender can never read or block
    another sender's stored responses by reusing their key.
    """

    body: bytes
    signature: VerifiedSignature | None = None
    principal: str = ""


def principal_of(state: object, authenticated: bool) -> str | None:
    """The principal idempotency keys are scoped to: the `Verified` request's, or ""
    when authentication is not required here; None (refuse) when it is and is missing."""
    if isinstance(state, Verified):
        return state.principal
    if authenticated:
        logging.getLogger("cryptorails.integrations").error(
            "idempotency reached without a verified request: put it inside the "
            "signed-request check, or pass authenticated=False"
        )
        return None
    return ""


def header_mapping(lines: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Header lines as one mapping with lowercase names; repeated lines are joined with
    ", " (RFC 9110 §5.3), so a repeated signature header fails to parse instead of one
    copy being silently picked."""
    out: dict[str, str] = {}
    for name, value in lines:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _describe_httpsig(verifier: Verifier, headers: Mapping[str, str]) -> FailureDetails:
    keyids = unverified_keyids(headers.get("signature-input", ""))
    if len(keyids) != 1:
        return FailureDetails("rfc9421")
    (keyid,) = keyids
    algorithm = verifier.key_algorithm(keyid)
    if algorithm is None:
        return FailureDetails("rfc9421")  # an untrusted keyid is attacker text: not logged
    return FailureDetails("rfc9421", algorithm=algorithm, key_id=keyid)


def describe(verifier: object, headers: Mapping[str, str]) -> FailureDetails:
    """What can safely be logged about a failed request to `verifier`."""
    if isinstance(verifier, Verifier):
        return _describe_httpsig(verifier, headers)
    if isinstance(verifier, WebhookVerifier):
        entries = headers.get("webhook-signature", "")[:4096].split(" ")
        found = sorted(
            {_VERSIONS[v] for v, _, _ in (e.partition(",") for e in entries) if v in _VERSIONS}
        )
        return FailureDetails("standard-webhooks", algorithm=",".join(found) or None)
    for kind, scheme in _HMAC_SCHEMES.items():
        if isinstance(verifier, kind):
            return FailureDetails(scheme, algorithm="hmac-sha256")
    return FailureDetails(type(verifier).__name__)


class RequestCheck:
    """Verifies requests with a webhook verifier or an RFC 9421 `Verifier`, and turns every
    failure into the one 401 reply plus a rate-limited `verify_failed` event.

    Args:
        verifier: a webhook verifier (``.verify(headers, body)``) or an
            `httpsig.Verifier`.
        tenant: the tenant named in log events (from the server's configuration).
        logger: a `FailureLog`, or a `logging.Logger` to wrap in one (default: the
            ``cryptorails.verify`` logger, rate-limited).
    """

    def __init__(
        self,
        verifier: WebhookCheck | Verifier,
        *,
        tenant: str | None = None,
        logger: FailureLog | logging.Logger | None = None,
    ) -> None:
        if not isinstance(verifier, Verifier | WebhookCheck):
            raise TypeError("verifier is a webhook verifier or a cryptorails.httpsig.Verifier")
        self.verifier = verifier
        self.tenant = tenant
        self.log = logger if isinstance(logger, FailureLog) else FailureLog(logger)
        # Tenant and scheme are fixed per check: prefix them once, not per request.
        self._principal_prefix = "".join(
            f"{len(p)}:{p}" for p in (tenant or "", describe(verifier, {}).scheme)
        )

    def _principal(self, keyid: str | None) -> str:
        keyid = keyid or ""
        return f"{self._principal_prefix}{len(keyid)}:{keyid}"  # length-prefixed: unambiguous

    def check(
        self, method: str, target_uri: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> Verified | ErrorResponse:
        """The verified request, or the reply to send instead (401, or 503 when the
        replay store is unreachable)."""
        mapping = header_mapping(headers)
        try:
            if isinstance(self.verifier, Verifier):
                try:
                    message = HttpMessage(
                        method=method, target_uri=target_uri, headers=tuple(headers), body=body
                    )
                except ValueError:
                    raise VerificationError(Reason.MALFORMED) from None
                signature = self.verifier.verify(message)
                return Verified(body, signature, self._principal(signature.keyid))
            return Verified(self.verifier.verify(mapping, body), None, self._principal(None))
        except VerificationError as e:
            details = describe(self.verifier, mapping)
            self.log.log(
                e,
                tenant=self.tenant,
                key_id=details.key_id,
                algorithm=details.algorithm,
                scheme=details.scheme,
            )
            return UNAUTHORIZED
        except StoreUnavailable:
            logging.getLogger("cryptorails.integrations").warning(
                "replay store unavailable; request refused"
            )
            return UNAVAILABLE
