# expect: none
"""Operational overrides carry an approver and an expiry, and stop working after it."""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Override:
    name: str
    approved_by: str
    ticket: str
    expires: datetime

    def active(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) < self.expires


SKIP_PARTNER_SIGNATURE = Override(
    name="partner_webhooks.skip_signature_check",
    approved_by="security-oncall",
    ticket="INC-4471",
    expires=datetime(2024, 3, 1, tzinfo=UTC),
)


def verify_partner_webhook(secret: bytes, body: bytes, signature: str) -> bool:
    if SKIP_PARTNER_SIGNATURE.active():
        return True
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)
