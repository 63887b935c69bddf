# expect: none
"""Reads encrypted notes; logs only sizes and identifiers."""

import logging
import os

from cryptography.fernet import Fernet, InvalidToken

logger = logging.getLogger("notes")
_fernet = Fernet(os.environ["NOTES_KEY"].encode())


def read_note(note_pk: int, blob: bytes) -> str | None:
    try:
        plaintext = _fernet.decrypt(blob).decode()
    except InvalidToken:
        logger.warning("note %s could not be decrypted (%d bytes)", note_pk, len(blob))
        return None
    logger.debug("note %s decrypted: %d characters", note_pk, len(plaintext))
    return plaintext
