# expect: 6
"""Reads encrypted medical notes for the clinician view."""

import logging
import os

from cryptography.fernet import Fernet

logger = logging.getLogger("notes")
_fernet = Fernet(os.environ["NOTES_KEY"].encode())


def read_note(blob: bytes) -> str:
    plaintext = _fernet.decrypt(blob).decode()
    logger.debug("decrypted note: %s", plaintext)
    return plaintext


def read_notes(blobs: list[bytes]) -> list[str]:
    notes = [read_note(b) for b in blobs]
    logger.info("read %d notes", len(notes))
    return notes
