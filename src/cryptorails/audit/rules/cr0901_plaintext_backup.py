"""CR0901: database dumps and data archives written or uploaded in plaintext."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._backup import (
    creates_backup,
    encrypted_nearby,
    path_text,
    scope_of_call,
)

_UPLOADS = {
    "upload_file": (0, "Filename"),
    "upload_fileobj": (0, "Fileobj"),
    "put_object": (None, "Body"),
    "upload_from_filename": (0, "filename"),
    "upload_blob": (0, "name"),
}
_UPLOADED_BACKUP = re.compile(r"backup|dump(?!s)|snapshot|\.sql$|\.bak$|\.rdb$|\.archive$")


@rule(
    code="CR0901",
    name="plaintext-backup",
    case=9,
    severity=Severity.HIGH,
    cwe=312,
    nodes=(ast.Call,),
    # Every backup this rule reports is made by one of the calls in the first groups
    # (the dump tools' names hold "dump", "backup" or "rdb"; make_archive, copytree and
    # copy are shutil's; sqlite's backup and iterdump and Django's dumpdata hold
    # "backup" or "dump"), and its command, path or the names around it hold one of the
    # words of the second group. The third names the calls exactly.
    requires=[
        ["dump", "backup", "rdb", "tarfile", "zipfile", "shutil", "upload", "put_object"],
        [
            "dump", "backup", "sql", "archive", "snapshot", "bak", "rdb", "tarfile",
            "zipfile", "make_archive", "copytree",
        ],
        [
            "upload", "shutil", "sqlite3", "zipfile", "tarfile", "put_object", "pg_dump",
            "mysqldump", "mongodump", "pg_basebackup", "mariadb-dump", "--rdb", "dumpdata",
        ],
    ],
)  # fmt: skip
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds database dumps and data archives written without encryption.

    ## What it does
    Reports database dumps written to a file — `pg_dump`, `pg_dumpall`,
    `pg_basebackup`, `mysqldump`, `mongodump`, `redis-cli --rdb` and `sqlite3 .backup`
    run through `subprocess`/`os.system`/Fabric (argument lists, shell strings, or a
    local helper that runs its argument) with an output flag, a redirection, an open
    file as stdout, or captured output the function writes; `sqlite3`
    `Connection.backup(...)` into a database file and `.iterdump()` written out; Django
    `dumpdata` to a file — and tar/zip archives, `shutil.make_archive`,
    `shutil.copytree` and copies of database files whose paths or surrounding names speak
    of backups, dumps, databases or data directories. It reports them when nothing in
    the same function (or a function of the module calling it) encrypts the result: no
    cipher or `Sealer` call, no `gpg`/`age`/`openssl enc`, no ``--encrypt`` flag, no
    upload with server-side encryption. An upload (`upload_file`, `put_object`,
    `upload_from_filename`, ...) of a backup file with none of these is reported too.
    Server-side encryption by the storage provider is accepted as "not plaintext",
    although anyone with read access to the bucket still reads the dump. Schema-only
    dumps (`--schema-only`, `--no-data`) and pipes into another process (cloning a
    database) are not backups.

    ## Why is this bad?
    Backups outlive everything: they are copied to other accounts, kept for years, and
    hold every row the application ever "deleted". A plaintext dump turns one stolen
    bucket key or one lost disk into a full breach, and makes crypto-shredding (deleting
    a tenant by destroying its keys) meaningless, since the dump still has the data.

    ## Example
    ```python
    def nightly_backup() -> None:
        subprocess.run(["pg_dump", "-Fc", "-f", "/backups/app.dump", DATABASE_URL], check=True)
    ```

    ## Use instead
    Encrypt before the bytes leave the process, under a key that is not a live data key:
    `cryptorails.Sealer(backup_keyring).seal(dump, cryptorails.Context(tenant="ops",
    purpose="backup"))` with a keyring kept apart from the serving one (a
    `cryptorails.backups` module with backup keysets and blast-radius reports is
    planned), or pipe the dump through `age -r <recipient>` / `gpg --encrypt`.

    ## References
    - CWE-312: Cleartext Storage of Sensitive Information
    - NIST SP 800-209 §4.8 (encryption of backup data)
    - OWASP ASVS 4.0.3 V8.1.6 (backups protected from unauthorized access)
    """
    assert isinstance(node, ast.Call)
    what = creates_backup(ctx, node)
    if what is not None:
        if not encrypted_nearby(ctx, node):
            yield ctx.report(node, f"{what} in plaintext: nothing here encrypts it")
        return
    uploaded = _uploaded_backup(ctx, node)
    if uploaded is not None and not _creates_any(ctx, node) and not encrypted_nearby(ctx, node):
        yield ctx.report(node, f"uploads backup {uploaded} as-is: it is stored in plaintext")


def _creates_any(ctx: FileContext, call: ast.Call) -> bool:
    """Whether the function around `call` makes a backup itself (then that backup is
    the finding, not its upload)."""
    scope = scope_of_call(ctx, call)
    key = ("CR0901:creates-any", scope)
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = any(
            isinstance(sub, ast.Call) and creates_backup(ctx, sub) is not None
            for sub in ctx.walk(scope)
        )
    return found is True


def _uploaded_backup(ctx: FileContext, call: ast.Call) -> str | None:
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in _UPLOADS:
        return None
    position, keyword = _UPLOADS[func.attr]
    candidates = [call_argument(call, position, keyword), call_argument(call, 2, "Key")]
    candidates.append(call_argument(call, None, "Key"))
    for candidate in candidates:
        text = path_text(ctx, candidate) if candidate is not None else None
        if text and _UPLOADED_BACKUP.search(text.lower()):
            return text
    return None
