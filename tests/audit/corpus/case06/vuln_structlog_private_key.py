# expect: 6
"""Loads the document-signing key for the e-signature service."""

import os

import structlog
from cryptography.hazmat.primitives import serialization

logger = structlog.get_logger()


def load_signing_key():
    pem = os.environ["SIGNING_KEY_PEM"].encode()
    password = os.environ.get("SIGNING_KEY_PASSWORD", "").encode() or None
    key = serialization.load_pem_private_key(pem, password=password)
    logger.info("signing key loaded", private_key_pem=pem, key_size=key.key_size)
    return key
