"""Signed webhooks: Standard Webhooks signing and verification, and verifiers for the
Stripe, Slack and GitHub schemes. Every failure is the one `VerificationError`."""

from cryptorails.replay import ReplayCheck
from cryptorails.webhooks._providers import GitHubVerifier, SlackVerifier, StripeVerifier
from cryptorails.webhooks._standard import (
    WebhookSigner,
    WebhookVerifier,
    parse_signing_key,
    parse_verifying_key,
)

__all__ = [
    "GitHubVerifier",
    "ReplayCheck",
    "SlackVerifier",
    "StripeVerifier",
    "WebhookSigner",
    "WebhookVerifier",
    "parse_signing_key",
    "parse_verifying_key",
]
