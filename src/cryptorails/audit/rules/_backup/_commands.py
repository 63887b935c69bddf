"""Commands that dump databases: what runs, with which words, and whether the dump
lands in a file."""

from __future__ import annotations

import ast
import re

from cryptorails.audit._context import FileContext
from cryptorails.audit._vocab import call_argument, identifier
from cryptorails.audit.rules._backup._text import (
    last_name,
    on_self,
    path_text,
    scope_of_call,
    strings_in,
)

__all__ = ["command_words", "dump_command", "writes_output"]

_DUMP_TOOLS = frozenset(
    {"pg_dump", "pg_dumpall", "pg_basebackup", "mysqldump", "mariadb-dump", "mongodump"}
)
_SHELL_DUMP = re.compile(
    r"(?:^|[\s;|&(/\"'])(pg_dump|pg_dumpall|pg_basebackup|mysqldump|mariadb-dump|mongodump)"
    r"(?=\s|$|[\"';|&)])"
    r"|(?:^|[\s;|&(/])(redis-cli)\b[^|;&]*--rdb"
    r"|(?:^|[\s;|&(/])(sqlite3)\b[^|;&]*\.(?:backup|dump)\b"
)
_REDIRECT = re.compile(r"(?<![0-9&>])>")
_SCHEMA_ONLY = {
    "pg_dump": frozenset({"--schema-only", "-s"}),
    "pg_dumpall": frozenset({"--schema-only", "-s"}),
    "mysqldump": frozenset({"--no-data", "-d"}),
    "mariadb-dump": frozenset({"--no-data", "-d"}),
}
# Command-line flags that name the dump's output file or directory.
_FILE_FLAGS = frozenset(
    {"-f", "--file", "-r", "--result-file", "-o", "--out", "-D", "--pgdata", "--rdb"}
)
_FILE_OPENERS = frozenset(
    {"open", "fdopen", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile"}
)
_WRITERS = frozenset(
    {
        "write",
        "write_bytes",
        "write_text",
        "writelines",
        "copyfileobj",
        "upload_file",
        "upload_fileobj",
        "put_object",
        "upload_from_string",
        "upload_blob",
    }
)
# Standard-library calls that run a command given as their first argument.
_RUNNERS = frozenset(
    {
        *(
            f"subprocess.{name}"
            for name in ("run", "call", "check_call", "check_output", "Popen", "getoutput")
        ),
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
        "asyncio.create_subprocess_shell",
    }
)
# Remote-execution helpers (Fabric, Invoke, Paramiko) whose first argument is a shell
# string: only taken as commands when that argument is a string.
_SHELL_METHODS = frozenset({"run", "sudo", "local", "exec_command"})
# Calls that take the command as separate positional arguments.
_EXEC_STYLE = frozenset(
    {"asyncio.create_subprocess_exec", "os.spawnl", "os.spawnlp", "os.execl", "os.execlp"}
)


# -- dumps and archives -------------------------------------------------------------------


# The last part of every runner's name: an attribute call whose attribute is not one of
# these (or a shell method) runs no command, whatever its receiver resolves to.
_RUNNER_ATTRS = frozenset(n.rsplit(".", 1)[-1] for n in (*_RUNNERS, *_EXEC_STYLE))


def _command_expressions(ctx: FileContext, call: ast.Call) -> list[ast.expr] | None:
    """The argument(s) holding the command of a direct command-running call."""
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and not on_self(func)
        and func.attr not in _RUNNER_ATTRS
        and func.attr not in _SHELL_METHODS
    ):
        return None
    name = ctx.call_name(call) or ""
    if name in _EXEC_STYLE:
        return list(call.args)
    if name in _RUNNERS:
        first = call_argument(call, 0, "args")
        if first is None:
            first = call_argument(call, None, "cmd")
        return [first] if first is not None else None
    if isinstance(func, ast.Attribute) and func.attr in _SHELL_METHODS and call.args:
        values = ctx.values(call.args[0])
        if all(
            isinstance(t, ast.JoinedStr | ast.BinOp)
            or (isinstance(t, ast.Constant) and isinstance(t.value, str))
            for t in values
        ):
            return [call.args[0]]
    return None


def _forwarded(ctx: FileContext, expressions: list[ast.expr]) -> bool:
    """Whether a runner's command is a parameter of a helper this module calls: the
    command is then judged, and reported, at the helper's call sites."""
    if len(expressions) != 1 or not isinstance(expressions[0], ast.Name):
        return False
    found = ctx.parameter_of(expressions[0])
    return found is not None and bool(ctx.argument_values(*found))


def _through_helper(ctx: FileContext, call: ast.Call) -> tuple[list[ast.expr], ast.Call] | None:
    """For a call to a local helper that runs one of its parameters as a command
    (``def run(cmd): subprocess.run(cmd, check=True)``), the argument given for it."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called not in ctx.functions:
        return None  # not a function of this module (cheap test before local_function)
    function = ctx.local_function(call)
    if function is None:
        return None
    for sub, arg in _forwarding_runners(ctx, function):
        if sub is call:
            continue
        positional = [*function.args.posonlyargs, *function.args.args]
        index = positional.index(arg) if arg in positional else None
        if index is not None and positional and positional[0].arg in ("self", "cls"):
            index -= 1
        given = call_argument(call, index, arg.arg)
        return ([given], sub) if given is not None else None
    return None


def _forwarding_runners(
    ctx: FileContext, function: ast.FunctionDef | ast.AsyncFunctionDef
) -> list[tuple[ast.Call, ast.arg]]:
    """The command-running calls in `function` that run one of its parameters, with
    that parameter (memoized per function: every call of the helper asks)."""
    key = ("CR09:forwarding-runners", function)
    cached = ctx.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    found: list[tuple[ast.Call, ast.arg]] = []
    for sub in ctx.walk(function):
        if not isinstance(sub, ast.Call):
            continue
        expressions = _command_expressions(ctx, sub)
        if not expressions or not _forwarded(ctx, expressions):
            continue
        name = expressions[0]
        assert isinstance(name, ast.Name)
        param = ctx.parameter_of(name)
        if param is not None:
            found.append((sub, param[1]))
    ctx.cache[key] = found
    return found


def command_words(ctx: FileContext, call: ast.Call) -> list[str] | None:
    """The words of the command a command-running call (``subprocess.run``,
    ``os.system``, Fabric's ``c.run``, a local helper wrapping one) executes, or None if
    `call` runs none.

    A shell string stays one word; list elements are one word each, unresolvable ones
    replaced by the strings and names they are built from.
    """
    found = _command_site(ctx, call)
    return _words_of(ctx, found[0]) if found is not None else None


def _command_site(ctx: FileContext, call: ast.Call) -> tuple[list[ast.expr], ast.Call] | None:
    """The command expressions of `call` and the call that actually runs them (`call`
    itself, or the runner inside a local helper)."""
    expressions = _command_expressions(ctx, call)
    if expressions is not None:
        return None if _forwarded(ctx, expressions) else (expressions, call)
    return _through_helper(ctx, call)


def _words_of(ctx: FileContext, expressions: list[ast.expr]) -> list[str]:
    tokens: list[ast.AST] = []
    for expression in expressions:
        for value in ctx.values(expression):
            if isinstance(value, ast.List | ast.Tuple):
                tokens.extend(value.elts)
            else:
                tokens.append(value)
    words: list[str] = []
    for token in tokens:
        text = path_text(ctx, token) if not isinstance(token, ast.Starred) else None
        if text is not None:
            words.append(text)
        else:
            words.extend(strings_in(ctx, token))
    return words


def dump_command(ctx: FileContext, call: ast.Call) -> str | None:
    """The database dump tool a command-running call invokes to write a file, if any.

    A dump piped straight into another process (``mysqldump | mysql`` to clone a
    database) or returned to the caller writes nothing and is not a backup here.
    """
    site = _command_site(ctx, call)
    if site is None:
        return None
    words = _words_of(ctx, site[0])
    if not words:
        return None
    tool: str | None = None
    for word in words:
        base = word.rsplit("/", 1)[-1]
        if base in _DUMP_TOOLS:
            tool = base
        elif base == "redis-cli" and "--rdb" in words:
            tool = "redis-cli --rdb"
        elif base == "sqlite3" and any(re.search(r"\.(backup|dump)\b", w) for w in words):
            tool = "sqlite3 .backup"
        else:
            match = _SHELL_DUMP.search(word)
            if match is not None:
                found = next(g for g in match.groups() if g)
                tool = {"redis-cli": "redis-cli --rdb", "sqlite3": "sqlite3 .backup"}.get(
                    found, found
                )
        if tool is not None:
            break
    if tool is None or not _writes_file(ctx, site[1], tool, words):
        return None
    return tool


def _writes_file(ctx: FileContext, call: ast.Call, tool: str, words: list[str]) -> bool:
    """Whether the dump ends up in a file: an output flag, a shell redirection, stdout
    bound to an open file, or captured output the function then writes or uploads."""
    tokens = [t for w in words for t in (w.split() if any(c.isspace() for c in w) else [w])]
    if any(t in _SCHEMA_ONLY.get(tool, ()) for t in tokens):
        return False  # structure without rows: nothing to protect
    if any(_REDIRECT.search(w) for w in words if any(c.isspace() for c in w)):
        return True
    for i, token in enumerate(tokens):
        flag, _, attached = token.partition("=")
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        value = attached or following
        if flag in _FILE_FLAGS and value not in ("", "-"):
            return True
        if flag == "--archive" and attached not in ("", "-"):
            return True
    if tool == "mongodump" and "--archive" not in tokens:
        return True  # writes ./dump/ or --out
    if tool in ("sqlite3 .backup", "pg_basebackup") or (
        tool == "redis-cli --rdb" and "-" not in tokens
    ):
        return True
    stdout = call_argument(call, None, "stdout")
    if stdout is not None:
        for sink in ctx.values(stdout):
            if isinstance(sink, ast.Call) and last_name(ctx.call_name(sink)) in _FILE_OPENERS:
                return True
    captured = (
        last_name(ctx.call_name(call)) in ("check_output", "getoutput", "popen")
        or stdout is not None
        or call_argument(call, None, "capture_output") is not None
    )
    return captured and writes_output(ctx, call)


def writes_output(ctx: FileContext, call: ast.Call) -> bool:
    """Whether the function around `call` writes or uploads something (a file write,
    ``copyfileobj``, an object-store upload)."""
    scope = scope_of_call(ctx, call)
    key = ("CR09:writes-output", scope)
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = any(
            isinstance(sub, ast.Call) and identifier(sub.func) in _WRITERS
            for sub in ctx.walk(scope)
        )
    return found is True
