"""Marked results from a real Sealer and TokenVerifier are masked at every sink."""

from __future__ import annotations

import io
import logging
import uuid
from datetime import timedelta

import structlog
from structlog.testing import CapturingLogger

from cryptorails import Context, Keyring, Sealer
from cryptorails.redact import RedactionPolicy, RedactProcessor, install
from cryptorails.testing import FixedClock
from cryptorails.tokens import TokenIssuer, TokenVerifier

KEY = bytes(range(32))
POLICY = RedactionPolicy(fingerprint_key=KEY)
EMAIL = b"alice@example.com"


def test_opened_plaintext_is_masked_in_logging() -> None:
    ctx = Context("tenant-a", "email")
    sealer = Sealer(Keyring.in_memory("test"), mark_plaintext=True)
    opened = sealer.open(sealer.seal(EMAIL, ctx), ctx)
    logger = logging.getLogger(f"test.marked.{uuid.uuid4().hex}")
    logger.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    install(POLICY, logger)
    logger.info("opened %s", opened, extra={"row": {"email": opened}})
    record_row = {"email": f"[REDACTED:plaintext:{POLICY.fingerprint(EMAIL)}]"}
    assert stream.getvalue() == f"opened [REDACTED:plaintext:{POLICY.fingerprint(EMAIL)}]\n"
    logger.removeHandler(handler)
    assert POLICY.redact({"email": opened}) == record_row


def test_unmarked_plaintext_is_ordinary_bytes_to_the_policy() -> None:
    ctx = Context("tenant-a", "email")
    sealer = Sealer(Keyring.in_memory("test"))
    opened = sealer.open(sealer.seal(EMAIL, ctx), ctx)
    assert POLICY.redact({"email": opened}) == {"email": EMAIL}


def test_verified_claims_are_masked_in_structlog() -> None:
    ctx = Context("tenant-a", "api-tokens")
    clock = FixedClock()
    keyring = Keyring.in_memory(clock=clock)
    issuer = TokenIssuer(keyring, ctx, issuer="https://issuer.example", clock=clock)
    verifier = TokenVerifier.for_keyring(
        keyring, ctx, issuer="https://issuer.example", clock=clock, mark_claims=True
    )
    claims = verifier.verify(issuer.issue({"sub": "alice"}, timedelta(minutes=5)))
    capture = CapturingLogger()
    log = structlog.wrap_logger(capture, processors=[RedactProcessor(POLICY)])
    log.info("verified", claims=claims, sub=claims["sub"])
    assert capture.calls[0].kwargs == {
        "event": "verified",
        "claims": "[REDACTED:claims]",
        "sub": "alice",  # taken out explicitly: an ordinary value
    }
