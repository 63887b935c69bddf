"""pytest plugin: fail a test whose captured output leaks a secret.

Installed with cryptorails and enabled automatically (entry point ``pytest11`` named
``cryptorails``). After each phase (setup, call, teardown) it checks the captured stdout,
stderr and log text, and the extra fields of captured log records, for:

* anything the pattern detectors recognise (JWTs, PEM private keys, cloud keys, bearer
  credentials, ...; `cryptorails.redact._detectors.find_secrets`);
* key material the tests created, in any encoding (raw, hex, base64, base64url, PEM,
  DER; `cryptorails.redact._known.KnownMaterial`). Every `Secret` constructed while a
  test runs (setup, call, teardown) is registered automatically, which covers keyring
  keys, KEKs, webhook and HMAC secrets; `cryptorails_secrets.register(...)` adds
  anything else.

A leak in a phase that passed turns that phase into a failure naming the section, the
kind and the position, never the secret; the secret is replaced by ``[REDACTED:<kind>]``
in every captured section of the report (and in the failure text of a test that failed
anyway), so pytest's own output does not print it either.

Choices:

* Registered material stays registered for the rest of the session: a key made by a
  module- or session-scoped fixture is created during the setup of the first test that
  uses it, and must still be caught when a later test prints it.
* Automatically observed material shorter than 16 bytes or with fewer than 8 distinct
  byte values (``bytes(32)``, ``b"x" * 32``) is not registered: such values appear in
  ordinary output and are no secret worth the false alarms. `register` takes any value
  of at least 16 bytes (the shortest `KnownMaterial` searches for).
* Observation is cheap: new material is only queued (deduplicated) and turned into
  search patterns when a report actually has captured output to check.

Opt out per test with ``@pytest.mark.allow_secrets(reason="...")`` (the reason is
required), for a whole run with ``-p no:cryptorails``, or in configuration with the ini
option ``cryptorails_leak_check = false`` (also ``-o cryptorails_leak_check=false``).
Output that is not captured (``-s``, live logging) cannot be checked.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cryptorails.redact._detectors import Found
    from cryptorails.secret import Secret

# cryptorails itself is imported lazily (in pytest_configure and the hooks): this module
# is loaded by every pytest run in an environment where cryptorails is installed, before
# coverage tools start, and must not import the library that early.

__all__ = ["SecretWatch"]

_INI = "cryptorails_leak_check"
_MARKER = "allow_secrets"
_PLUGIN_NAME = "cryptorails-leak-check"
_MIN_REGISTERED_BYTES = 16  # KnownMaterial's shortest needle
_MIN_OBSERVED_BYTES = 16
_MIN_DISTINCT_BYTES = 8
_HINT = f'mark the test @pytest.mark.{_MARKER}(reason="...") if printing it is intended'
# The attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _INI,
        type="bool",
        default=True,
        help="cryptorails: fail tests whose captured output contains secrets (default true).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f'{_MARKER}(reason="..."): cryptorails: this test may print secrets (reason required).',
    )
    if config.getini(_INI):
        config.pluginmanager.register(_LeakCheck(), _PLUGIN_NAME)


class SecretWatch:
    """What the `cryptorails_secrets` fixture returns: register material to watch for."""

    __slots__ = ("_check",)

    def __init__(self, check: _LeakCheck | None) -> None:
        self._check = check

    def register(self, material: bytes | bytearray | memoryview | str | Secret) -> None:
        """Fail the test (and any later one) if `material` appears in captured output.

        A str is watched as its UTF-8 bytes, in every encoding; a `Secret` as its bytes.

        Raises:
            TypeError: another type.
            ValueError: shorter than 16 bytes (too short to search for without matching
                ordinary output).
        """
        from cryptorails.secret import Secret

        if isinstance(material, Secret):
            raw = material.reveal()
        elif isinstance(material, str):
            raw = material.encode("utf-8")
        elif isinstance(material, bytes | bytearray | memoryview):
            raw = bytes(material)
        else:
            raise TypeError(f"register takes bytes, str or Secret, not {type(material).__name__}")
        if len(raw) < _MIN_REGISTERED_BYTES:
            raise ValueError(
                f"register needs at least {_MIN_REGISTERED_BYTES} bytes of material; "
                "shorter values would match ordinary output"
            )
        if self._check is not None:
            self._check.queue(raw)


@pytest.fixture
def cryptorails_secrets(request: pytest.FixtureRequest) -> SecretWatch:
    """Register extra material (bytes, str or Secret) to watch for in captured output."""
    check = request.config.pluginmanager.get_plugin(_PLUGIN_NAME)
    return SecretWatch(check if isinstance(check, _LeakCheck) else None)


@dataclass(frozen=True, slots=True)
class _Leak:
    where: str
    kind: str
    position: str


class _LeakCheck:
    """The plugin proper: one per pytest session (so in-process pytester runs are apart)."""

    def __init__(self) -> None:
        from cryptorails import secret
        from cryptorails.redact._detectors import Found, find_secrets, resolve_overlaps
        from cryptorails.redact._known import KnownMaterial

        self._observe = secret._observe
        self._find_secrets = find_secrets
        self._resolve = resolve_overlaps
        self._found = Found
        self._known = KnownMaterial()
        self._seen: set[bytes] = set()
        self._pending: list[bytes] = []

    # -- collecting material ----------------------------------------------------------

    def observe(self, material: bytes) -> None:
        """The `Secret` observer: queue plausible key material (cheap; no encoding yet)."""
        if len(material) >= _MIN_OBSERVED_BYTES and len(set(material)) >= _MIN_DISTINCT_BYTES:
            self.queue(material)

    def queue(self, material: bytes) -> None:
        if material not in self._seen:
            self._seen.add(material)
            self._pending.append(material)

    def _flush(self) -> None:
        """Turn queued material into search patterns (only when there is text to check).

        Only the material's own encodings are registered, not the PEM/DER forms of the
        private keys it could be: PEM blocks are found by the pattern detectors, and a
        DER key (raw or base64) contains the material, which the raw and base64 forms
        (at any alignment) find. Registering key forms would cost a key derivation and
        ten more patterns per key, for every key the test suite makes.
        """
        pending, self._pending = self._pending, []
        for material in pending:
            self._known.add(material)

    def _find(self, text: str) -> list[Found]:
        """Secrets in `text`; overlapping findings merge into one span (their union).

        A merged span is named after its most specific finding (known material first),
        and covers all of them: a PEM block stays redacted as a whole even where the key
        material inside it is what matched best.
        """
        if self._pending:
            self._flush()
        found = sorted([*self._find_secrets(text), *self._known.find(text)], key=lambda f: f.start)
        groups: list[list[Found]] = []
        end = -1
        for f in found:
            if groups and f.start < end:
                groups[-1].append(f)
                end = max(end, f.end)
            else:
                groups.append([f])
                end = f.end
        return [
            self._found(self._resolve(g)[0].kind, g[0].start, max(f.end for f in g)) for g in groups
        ]

    # -- hooks ------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        # Setup, call and teardown all run inside: keys made by fixtures are seen too.
        with self._observe(self.observe):
            return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        _allowed(item)  # a malformed marker fails the test before it runs

    # tryfirst: the outermost wrapper sees the final report, after xfail handling, so an
    # expected failure cannot hide a leak and an XPASS that leaked still fails.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        try:
            allowed = _allowed(item)
        except pytest.fail.Exception:
            allowed = False  # reported by pytest_runtest_setup; still protect the output
        if not allowed:
            self._check(item, report)
        return report

    def _check(self, item: pytest.Item, report: pytest.TestReport) -> None:
        leaks: list[_Leak] = []
        sections: list[tuple[str, str]] = []
        for title, content in report.sections:
            found = self._find(content) if content else []
            if found:
                # Only this phase's own sections can fail it; earlier phases' sections
                # are repeated in later reports and were judged already.
                if title.rsplit(" ", 1)[-1] == report.when:
                    leaks.extend(_Leak(title, f.kind, _position(content, f)) for f in found)
                content = _scrub(content, found)
            sections.append((title, content))
        report.sections = sections
        leaks.extend(self._check_records(item, report.when))
        scrubbed_failure = False
        if report.failed and report.longrepr is not None:
            text = str(report.longrepr)
            found = self._find(text)
            if found:
                report.longrepr = _scrub(text, found)
                scrubbed_failure = True
        if not leaks:
            if scrubbed_failure:
                report.sections.append(
                    ("cryptorails", "secret material was removed from the failure output")
                )
            return
        message = _describe(leaks)
        if report.passed:
            report.outcome = "failed"
            report.longrepr = message
            if hasattr(report, "wasxfail"):
                del report.wasxfail  # an XPASS that leaked is a plain failure
        else:
            report.sections.append(("cryptorails", message))

    def _check_records(self, item: pytest.Item, when: str) -> list[_Leak]:
        """Secrets in the `extra` fields of this phase's log records.

        The formatted message is in the "Captured log" section already; `extra` fields
        are not, but a structured (JSON) log handler in production would write them.
        """
        try:
            from _pytest.logging import caplog_records_key
        except ImportError:  # pragma: no cover -- a pytest without the stash key
            return []
        records = item.stash.get(caplog_records_key, {}).get(when, ())
        leaks = []
        for record in records:
            for name, value in vars(record).items():
                if name in _RECORD_ATTRS:
                    continue
                text = value if isinstance(value, str) else _safe_repr(value)
                for f in self._find(text):
                    where = f"log record {record.name!r} extra field {name!r} ({when})"
                    leaks.append(_Leak(where, f.kind, f"characters {f.start}-{f.end}"))
        return leaks


def _allowed(item: pytest.Item) -> bool:
    """Whether the test carries a valid allow_secrets marker.

    Raises:
        pytest.fail.Exception: the marker has no (or an empty) reason.
    """
    marker = item.get_closest_marker(_MARKER)
    if marker is None:
        return False
    reason = marker.kwargs.get("reason", marker.args[0] if marker.args else None)
    if not isinstance(reason, str) or not reason.strip():
        pytest.fail(
            f'@pytest.mark.{_MARKER} needs a reason: @pytest.mark.{_MARKER}(reason="why this '
            'test may print secrets")',
            pytrace=False,
        )
    return True


def _position(text: str, found: Found) -> str:
    line = text.count("\n", 0, found.start) + 1
    column = found.start - (text.rfind("\n", 0, found.start) + 1) + 1
    return f"line {line}, column {column} (characters {found.start}-{found.end})"


def _scrub(text: str, found: Iterable[Found]) -> str:
    """Replace every found span (sorted, not overlapping) by ``[REDACTED:<kind>]``."""
    parts, last = [], 0
    for f in found:
        parts.append(text[last : f.start])
        parts.append(f"[REDACTED:{f.kind}]")
        last = f.end
    parts.append(text[last:])
    return "".join(parts)


def _describe(leaks: Sequence[_Leak]) -> str:
    lines = [f"cryptorails: secret material in captured output ({_HINT}):"]
    lines.extend(f"  {leak.where}: {leak.kind} at {leak.position}" for leak in leaks)
    return "\n".join(lines)


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not break the test run
        return ""
