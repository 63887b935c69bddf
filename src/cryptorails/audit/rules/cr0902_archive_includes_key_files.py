"""CR0902: backups and archives that carry the keys with the data."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import call_argument
from cryptorails.audit.rules._backup import (
    archive_writer,
    backup_context,
    command_words,
    creates_backup,
    is_key_path,
    on_self,
    path_text,
    scope_of_call,
)
from cryptorails.audit.rules._tenancy import cipher_constructors, cipher_keys

_ENCRYPTING = ("encrypt", "encrypt_and_digest", "encrypt_at_time", "encryptor")
_BACKUP_FUNCTION = re.compile(r"backup|snapshot|(^|_)dump($|_)")
_MEMBER_CALLS = {"add": (0, "name"), "write": (0, "filename"), "writestr": (0, "zinfo_or_arcname")}
_COPIES = frozenset({"shutil.copy", "shutil.copy2", "shutil.copyfile", "shutil.copytree"})
_PATH_CALLS = frozenset({"make_archive", *(c.rsplit(".", 1)[-1] for c in _COPIES)})
_ARCHIVERS = frozenset({"tar", "gtar", "bsdtar", "zip", "7z", "rsync"})
_EXCLUDING_KEYWORDS = frozenset({"filter", "exclude", "ignore", "exclude_patterns"})
_MATCHERS = frozenset(
    {"endswith", "startswith", "fnmatch", "match", "ignore_patterns", "search", "is_relative_to"}
)
_PATH_BUILDERS = frozenset({"join", "Path", "PurePath", "PosixPath", "joinpath"})
# What a file needs for this rule to fire. A live-key backup encrypts ("encrypt");
# every other finding archives or copies a path that names key material (`is_key_path`:
# the words of the last group) with tarfile/zipfile, shutil, or an archiver command
# whose first word is "tar"/"zip"/... — a string (`"tar czf ..."`, `"/bin/tar"`) or a
# name (`[tar, "-czf", ...]`), so the archiver is followed by a quote, a blank, an escape
# or a comma. The first group is a cheap superset of the second.
_ARCHIVER_FORMS = [f"{archiver}{after}" for archiver in ("tar", "zip") for after in "\"' \t\n\r,\\"]
_REQUIRES = [
    ["tar", "zip", "encrypt", "shutil", "7z", "rsync"],
    ["encrypt", "tarfile", "zipfile", "shutil", "7z", "rsync", *_ARCHIVER_FORMS],
    [
        "key", "secret", "ssl", "pem", "ssh", "encrypt", "account", "credentials",
        ".env", "kek", "p12", "pfx", "jks", "ppk", "p8", "id_rsa", "id_dsa", "id_ecdsa",
        "id_ed25519", "netrc", "pgpass", "htpasswd", "secring", "gnupg",
    ],
]  # fmt: skip


@rule(
    code="CR0902",
    name="archive-includes-key-files",
    case=9,
    severity=Severity.HIGH,
    cwe=538,
    nodes=(ast.Call,),
    requires=_REQUIRES,
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds archives and backups that include key files or the key directory.

    ## What it does
    Reports paths added to a tar or zip archive (`tar.add`, `zf.write`, `zf.writestr`),
    archived by `shutil.make_archive`, copied to a backup by `shutil.copytree`/`copy`, or
    given to a `tar`/`zip`/`rsync` command, when they name key material — `*.pem`,
    `*.key`, `*.p12`, `id_rsa`, `.env`, `keys/`, `keystore/`, `secrets/`, `.ssh/` and
    the like — or when they are a whole directory that, elsewhere in the same module,
    holds the keys (archiving `/var/lib/app` while the keyring is opened at
    `/var/lib/app/keys`). A `filter=`/`ignore=`/`--exclude` or a test that matches key
    names keeps the whole-directory case quiet. It also reports a backup function (one
    that dumps or archives, or is named for backups or snapshots) that encrypts with the
    same module-level key or cipher object that another function uses for live records.

    ## Why is this bad?
    A backup that holds both the ciphertext and the key encrypting it is a plaintext
    backup with extra steps: whoever gets the archive gets everything, and destroying a
    tenant's key no longer shreds its data because a copy of the key lives on in every
    backup taken before. A backup sealed under the live data key ties the two together
    the other way: one leaked key opens production and years of backups, and the key
    cannot be destroyed to shred live data without also destroying the backups.

    ## Example
    ```python
    with tarfile.open("/backups/app.tar.gz", "w:gz") as tar:
        tar.add("/var/lib/app")        # includes /var/lib/app/keys
        tar.add("/etc/app/server.key")
    ```

    ## Use instead
    Keep keys out of data backups and back them up separately under their own
    protection: a `cryptorails.Keyring` file keystore wrapped by a KEK
    (`cryptorails.LocalKek` or a cloud KMS) that never sits next to the data, and data
    backups sealed with `cryptorails.Sealer` under a separate backup keyset
    (`cryptorails.Context(tenant="ops", purpose="backup")`); exclude key paths with
    `tar.add(..., filter=...)` or `shutil.ignore_patterns("keys", "*.pem")`.

    ## References
    - CWE-538: Insertion of Sensitive Information into Externally-Accessible File or
      Directory
    - NIST SP 800-57 Part 1 Rev. 5 §6.2.2 (backup of keying material kept apart from
      the data it protects)
    """
    assert isinstance(node, ast.Call)
    if isinstance(node.func, ast.Attribute) and node.func.attr in _ENCRYPTING:
        yield from _live_key_backup(ctx, node)
        return
    for source in _archived_paths(ctx, node):
        text = path_text(ctx, source)
        if text is None:
            continue
        if is_key_path(text):
            yield ctx.report(
                node,
                f"the archive includes key material ({text}): whoever holds the backup "
                "holds the keys",
            )
            return
        root = _root_of(text)
        if root is None or _excludes_keys(ctx, node):
            continue
        for key_path in _key_paths(ctx):
            if key_path.startswith(root + "/"):
                yield ctx.report(
                    node,
                    f"archives {root}, which holds the keys at {key_path}: whoever holds "
                    "the backup holds the keys",
                )
                return


def _live_key_backup(ctx: FileContext, call: ast.Call) -> Iterator[Finding]:
    """A backup encrypted with the very key object (or module key) that encrypts live
    records in another function of the module."""
    function = ctx.enclosing_function(call)
    if function is None or not _is_backup_function(ctx, function):
        return
    mine = _key_identities(ctx, call)
    if not mine:
        return
    for attr in _ENCRYPTING:
        for other in ctx.calls_by_attr.get(attr, []):
            where = ctx.enclosing_function(other)
            if other is call or where is None or where is function:
                continue
            if _is_backup_function(ctx, where):
                continue
            shared = mine & _key_identities(ctx, other)
            if shared:
                yield ctx.report(
                    call,
                    f"the backup is encrypted under the live data key that "
                    f"{where.name}() uses: one leak exposes live data and every backup, "
                    "and shredding the key destroys both",
                )
                return


def _is_backup_function(ctx: FileContext, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if _BACKUP_FUNCTION.search(function.name.lower()):
        return True
    key = ("CR0902:backup-function", function)
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = any(
            isinstance(sub, ast.Call) and creates_backup(ctx, sub) is not None
            for sub in ctx.walk(function)
        )
    return found is True


def _key_identities(ctx: FileContext, call: ast.Call) -> set[int]:
    """Module-level cipher objects and key values an encryption uses, by node identity."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return set()
    out: set[int] = set()
    for constructor in cipher_constructors(ctx, func.value):
        if isinstance(ctx.scope_of.get(constructor), ast.Module | ast.ClassDef):
            out.add(id(constructor))
        for key in cipher_keys(ctx, constructor):
            for value in ctx.values(key):
                if isinstance(ctx.scope_of.get(value), ast.Module | ast.ClassDef):
                    out.add(id(value))
    return out


def _archived_paths(ctx: FileContext, call: ast.Call) -> list[ast.expr]:
    """The source paths `call` puts into an archive or a backup copy."""
    func = call.func
    if isinstance(func, ast.Attribute) and not on_self(func) and func.attr not in _PATH_CALLS:
        name = ""  # a qualified name ends with the attribute: none of shutil's below
    else:
        name = ctx.call_name(call) or ""
    if isinstance(func, ast.Attribute) and func.attr in _MEMBER_CALLS:
        openers = [
            v for v in ctx.values(func.value) if isinstance(v, ast.Call) and archive_writer(ctx, v)
        ]
        path = call_argument(call, *_MEMBER_CALLS[func.attr])
        return [path] if openers and path is not None else []
    if name == "shutil.make_archive":
        root = call_argument(call, 2, "root_dir")
        base = call_argument(call, 3, "base_dir")
        if root is not None and base is not None:
            return [ast.BinOp(left=root, op=ast.Div(), right=base)]
        return [p for p in (root, base) if p is not None]
    if name in _COPIES and backup_context(ctx, call):
        source = call_argument(call, 0, "src")
        return [source] if source is not None else []
    words = command_words(ctx, call)
    if words and any(w.split()[0].rsplit("/", 1)[-1] in _ARCHIVERS for w in words[:3] if w.split()):
        return [ast.Constant(w) for w in _split(words)]
    return []


def _split(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        out.extend(w for w in word.split() if not w.startswith("-") and w not in _ARCHIVERS)
    if any("--exclude" in w for w in words):
        # An archive command with exclusions: only explicit key paths count.
        return [w for w in out if is_key_path(w)]
    return out


def _root_of(text: str) -> str | None:
    """The directory an archived path covers (a glob's fixed prefix); None when too
    vague to compare (empty, the current directory, a bare placeholder)."""
    parts = text.split("/")
    for i, part in enumerate(parts):
        if "*" in part or "?" in part:
            parts = parts[:i]
            break
    root = "/".join(parts).rstrip("/")
    if root in ("", ".", "~", "{?}") or root.endswith("{?}"):
        return None
    return root


def _excludes_keys(ctx: FileContext, call: ast.Call) -> bool:
    """Whether the archive call filters its members, or the code around it tests paths
    against key names."""
    if any(k.arg in _EXCLUDING_KEYWORDS for k in call.keywords):
        return True
    for sub in ctx.walk(scope_of_call(ctx, call)):
        if isinstance(sub, ast.Compare) or (
            isinstance(sub, ast.Call)
            and (getattr(sub.func, "attr", None) or getattr(sub.func, "id", None)) in _MATCHERS
        ):
            texts = [path_text(ctx, n) for n in ctx.walk(sub) if isinstance(n, ast.Constant)]
        else:
            continue
        if any(is_key_path(t) or (t or "").strip("/") in ("key", "keys") for t in texts):
            return True
    return False


def _key_paths(ctx: FileContext) -> list[str]:
    """Every path in the module that names key material, as text (cached per file)."""
    key = ("CR0902:key-paths",)
    cached = ctx.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    found: list[str] = []
    for node_type in (ast.Constant, ast.JoinedStr, ast.BinOp, ast.Call):
        for node in ctx.by_type.get(node_type, ()):
            if _inside_path_expression(ctx, node):
                continue
            if isinstance(node, ast.Call) and _callee(node) not in _PATH_BUILDERS:
                continue
            if isinstance(node, ast.Constant) and not isinstance(node.value, str):
                continue
            text = path_text(ctx, node)
            if (
                text is not None
                and "/" in text
                and not any(c.isspace() for c in text)
                and is_key_path(text)
            ):
                found.append(text)
    ctx.cache[key] = found
    return found


def _callee(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _inside_path_expression(ctx: FileContext, node: ast.AST) -> bool:
    parent = ctx.parent(node)
    if isinstance(parent, ast.BinOp | ast.JoinedStr | ast.FormattedValue):
        return True
    return isinstance(parent, ast.Call) and _callee(parent) in _PATH_BUILDERS
