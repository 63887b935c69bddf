# expect: none
"""Key rotation job: re-encrypt every row under the newest key.

Which key opens a row is recorded in our own database column, written when the row was
sealed; nothing is guessed.
"""

import os

from cryptography.fernet import Fernet


def load_keys() -> dict[int, Fernet]:
    versions = os.environ["NOTES_KEY_VERSIONS"].split(",")
    return {int(v): Fernet(os.environ[f"NOTES_KEY_V{v}"].encode()) for v in versions}


def rotate(cursor, batch_size: int = 500) -> int:
    keys = load_keys()
    newest = max(keys)
    cursor.execute("SELECT id, key_version, body FROM notes WHERE key_version < %s", (newest,))
    rotated = 0
    for row_id, version, body in cursor.fetchmany(batch_size):
        plaintext = keys[version].decrypt(body)
        cursor.execute(
            "UPDATE notes SET body = %s, key_version = %s WHERE id = %s",
            (keys[newest].encrypt(plaintext), newest, row_id),
        )
        rotated += 1
    return rotated
