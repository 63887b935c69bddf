"""Shared vocabulary for the backup rules (CR09xx): dump commands, archives, paths as
text, key-file paths and evidence of encryption."""

from cryptorails.audit.rules._backup._commands import command_words, dump_command
from cryptorails.audit.rules._backup._sites import (
    ARCHIVE_OPENERS,
    archive_writer,
    backup_context,
    creates_backup,
    encrypted_nearby,
)
from cryptorails.audit.rules._backup._text import (
    is_key_path,
    last_name,
    on_self,
    path_text,
    scope_of_call,
    strings_in,
)

__all__ = [
    "ARCHIVE_OPENERS",
    "archive_writer",
    "backup_context",
    "command_words",
    "creates_backup",
    "dump_command",
    "encrypted_nearby",
    "is_key_path",
    "last_name",
    "on_self",
    "path_text",
    "scope_of_call",
    "strings_in",
]
