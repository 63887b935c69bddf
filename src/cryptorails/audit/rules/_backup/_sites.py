"""Where backups are made (dumps, archives, copies) and whether the code around them
encrypts."""

from __future__ import annotations

import ast
import re

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import call_argument, identifier
from cryptorails.audit.rules._backup._commands import dump_command, writes_output
from cryptorails.audit.rules._backup._text import (
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
    "creates_backup",
    "encrypted_nearby",
]

_COPIES = frozenset({"shutil.copy", "shutil.copy2", "shutil.copyfile"})
_DB_FILE = re.compile(r"(\.(db|sqlite|sqlite3|rdb|sql|dump)$)|(^|[^a-z])(db|databases?)([^a-z]|$)")
_BACKUP_NAME = re.compile(r"backup|snapshot|dump|\.bak$")
ARCHIVE_OPENERS = frozenset(
    {"tarfile.open", "tarfile.TarFile", "tarfile.TarFile.open", "zipfile.ZipFile"}
)

_BACKUP_WORDS = re.compile(
    r"backup|snapshot|dump(?!s)|(^|[^a-z])db([^a-z]|$)|database|sqlite|pgdata|postgres|mysql"
    r"|mongo|redis|data_?dir|/var/lib/|\.sql\b|\.bak\b|\.rdb\b|media_root|uploads"
)

_ENCRYPTING_TEXT = re.compile(
    r"(?:^|[\s|;&(/\"'])(?:gpg2?|age|rage|sops)(?=\s|$)|openssl\s+(?:enc|smime|cms)"
    r"|encrypt|--symmetric|--recipient|\.(?:gpg|age|enc|aes)$|^-(?:aes|pbkdf2|chacha)",
    re.IGNORECASE,
)
_DENIES_ENCRYPTION = re.compile(r"unencrypt|not encrypt|no encrypt|without encrypt", re.I)
_LOGGING = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "print"}
)


def archive_writer(ctx: FileContext, call: ast.Call) -> bool:
    """Whether `call` opens a tar or zip archive for writing."""
    name = ctx.call_name(call)
    if name not in ARCHIVE_OPENERS:
        return False
    mode = call_argument(call, 1, "mode")
    if mode is None:
        return False  # both default to reading
    value = ctx.literal(mode)
    return isinstance(value, str) and value[:1] in ("w", "x", "a")


def _archive_members(ctx: FileContext, opener: ast.Call) -> list[ast.Call]:
    """``.add``/``.write``/``.writestr`` calls on the archive `opener` creates."""
    scope = scope_of_call(ctx, opener)
    out: list[ast.Call] = []
    for sub in ctx.walk(scope):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr in ("add", "write", "writestr", "addfile")
            and any(v is opener for v in ctx.values(sub.func.value))
        ):
            out.append(sub)
    return out


def backup_context(ctx: FileContext, call: ast.Call) -> bool:
    """Whether an archive or copy is a backup of data: its paths, the names around it or
    the function it runs in speak of backups, snapshots, dumps, databases or data dirs."""
    texts: list[str] = []
    function = ctx.enclosing_function(call)
    if function is not None:
        texts.append(function.name.lower())
    parent = ctx.parent(call)
    if isinstance(parent, ast.withitem) and parent.optional_vars is not None:
        texts.extend(strings_in(ctx, parent.optional_vars))
    elif isinstance(parent, ast.Assign):
        texts.extend(identifier(t) or "" for t in parent.targets)
    members = _archive_members(ctx, call) if ctx.call_name(call) in ARCHIVE_OPENERS else []
    for c in (call, *members):
        for arg in [*c.args, *(k.value for k in c.keywords)]:
            text = path_text(ctx, arg)
            if text is not None:
                texts.append(text.lower())
            texts.extend(s.lower() for s in strings_in(ctx, arg))
    return any(_BACKUP_WORDS.search(t) for t in texts)


# The last part of the name of every call `creates_backup` recognizes besides commands.
_CREATING_ATTRS = frozenset(
    {
        "open", "TarFile", "ZipFile", "make_archive", "copytree", "copy", "copy2",
        "copyfile", "backup", "iterdump", "call_command",
    }
)  # fmt: skip


def creates_backup(ctx: FileContext, call: ast.Call) -> str | None:
    """What backup `call` writes, described, or None if it writes none: a database
    dump, an archive or copy of data, an SQLite backup (memoized per call)."""
    key = ("CR09:creates-backup", call)
    if key in ctx.cache:
        return ctx.cache[key]  # type: ignore[return-value]
    found = ctx.cache[key] = _creates_backup(ctx, call)
    return found


def _creates_backup(ctx: FileContext, call: ast.Call) -> str | None:
    tool = dump_command(ctx, call)
    if tool is not None:
        return f"{tool} writes a database dump"
    func = call.func
    if isinstance(func, ast.Attribute) and not on_self(func) and func.attr not in _CREATING_ATTRS:
        return None  # a qualified name ends with the attribute: none of the below
    name = ctx.call_name(call) or ""
    if archive_writer(ctx, call) and backup_context(ctx, call):
        kind = "zip" if name.startswith("zipfile") else "tar"
        return f"a {kind} archive of data is written"
    if name == "shutil.make_archive" and backup_context(ctx, call):
        return "shutil.make_archive writes an archive of data"
    if name == "shutil.copytree" and backup_context(ctx, call):
        return "shutil.copytree copies data to a backup"
    if name in _COPIES:
        src = path_text(ctx, call_argument(call, 0, "src")) or ""
        dst = path_text(ctx, call_argument(call, 1, "dst")) or ""
        if _DB_FILE.search(src.lower()) and _BACKUP_NAME.search(dst.lower()):
            return f"{name} copies a database file to a backup"
    if name.endswith("sqlite3.connect.backup"):
        # Only a copy into a database file counts (not `:memory:`, not an unknown target).
        target = call_argument(call, 0, "target")
        for value in ctx.values(target) if target is not None else ():
            if isinstance(value, ast.Call) and ctx.call_name(value) == "sqlite3.connect":
                database = call_argument(value, 0, "database")
                if database is not None and ctx.literal(database) != ":memory:":
                    return "sqlite3 Connection.backup writes a database copy"
        return None
    if name.endswith("sqlite3.connect.iterdump") and writes_output(ctx, call):
        return "sqlite3 iterdump writes a database dump"
    # Django's dumpdata to a file (`output=`) or to an open file (`stdout=`).
    if (
        last_name(name) == "call_command"
        and call.args
        and ctx.literal(call.args[0]) == "dumpdata"
        and any(k.arg in ("output", "stdout") for k in call.keywords)
    ):
        return "manage.py dumpdata writes a database dump"
    return None


# -- evidence of encryption ---------------------------------------------------------------


def _docstrings(ctx: FileContext, scope: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ctx.walk(scope):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant | ast.JoinedStr):
            out.update(id(n) for n in ctx.walk(node.value))
    return out


def _encrypts(ctx: FileContext, scope: ast.AST) -> bool:
    """Whether `scope` encrypts (memoized per scope: every backup in it asks)."""
    key = ("CR09:encrypts", scope)
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = _find_encryption(ctx, scope)
    return found is True


def _find_encryption(ctx: FileContext, scope: ast.AST) -> bool:
    skip = _docstrings(ctx, scope)
    for node in ctx.walk(scope):
        if isinstance(node, ast.Call):
            callee = node.func
            name = identifier(callee) or ""
            if (
                ("encrypt" in name and "unencrypt" not in name)
                or name.startswith("seal")
                or name in ("gpg", "age")
            ):
                return True
            if name in _LOGGING:
                skip.update(id(n) for a in node.args for n in ctx.walk(a))
        elif isinstance(node, ast.keyword) and node.arg and "encrypt" in node.arg.lower():
            return True
        elif isinstance(node, ast.Name | ast.Attribute):
            name = identifier(node) or ""
            if ("encrypt" in name or "sealer" in name) and "unencrypt" not in name:
                return True
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and _ENCRYPTING_TEXT.search(node.value)
            and not _DENIES_ENCRYPTION.search(node.value)
        ):
            return True
    return False


def encrypted_nearby(ctx: FileContext, node: ast.AST) -> bool:
    """Whether the function around `node` (or a function of this module that calls it)
    encrypts: a cipher or `Sealer` call, gpg/age/openssl, an ``--encrypt`` flag, or an
    upload with server-side encryption."""
    function = ctx.enclosing_function(node)
    if function is None:
        return _encrypts(ctx, ctx.tree)
    if _encrypts(ctx, function):
        return True
    for call in _callers(ctx, function):
        outer = ctx.enclosing_function(call)
        if outer is not None and outer is not function and _encrypts(ctx, outer):
            return True
    return False


def _callers(ctx: FileContext, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Call]:
    """Calls of this module to `function`: by name for a function; for a method, on
    ``self``/``cls`` in its class or on an instance of its class (a bare ``.run(...)``
    on anything else is some other method)."""
    cls = ctx.scope_of.get(function)
    if not isinstance(cls, ast.ClassDef):
        return [c for c in ctx.calls_by_name.get(function.name, []) if ctx.local_function(c)]
    out: list[ast.Call] = []
    for call in ctx.calls_by_attr.get(function.name, []):
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        if isinstance(receiver, ast.Name) and receiver.id in ("self", "cls"):
            if ctx.enclosing_class(call) is cls:
                out.append(call)
        elif receiver is not None and (ctx.qualname(receiver) or "").split(".")[-1] == cls.name:
            out.append(call)
    return out
