"""`RedactionPolicy`: what is masked, how it is shown, and how much work one call may do.

Every sink adapter (stdlib logging, structlog, OpenTelemetry) asks one policy, so a
service has one answer to "would this value be shown?".

Order of the rules for a value under a field name:

1. marked types, by type: `Secret` (kind ``secret``), decrypted `Plaintext`
   (``plaintext``) and verified `Claims` (``claims``) are masked whole, wherever they are;
2. the name rule (`_names`): a value under a denied name is masked whole (kind ``name``),
   unless the name is allowlisted;
3. the value detectors, for every string and bytes value, allowlisted names included
   (a JWT logged as ``token_type`` is still a JWT): `find_secrets` (JWTs, PEM private
   keys, cloud keys, bearer/basic credentials, ...) and registered key material
   (`KnownMaterial`: raw, hex, base64, PEM, DER). Only the matching span is replaced.

A mask reads ``[REDACTED:<kind>:<fp>]``. ``fp`` is the first 8 hex digits of
HMAC-SHA256 over the masked bytes, keyed with `fingerprint_key` or, by default, with the
per-process key that `Secret.fingerprint` uses (so a masked secret and ``repr(secret)``
show the same fp). A keyed fingerprint lets one process's logs say "the same value
again" without handing out a hash that a low-entropy secret could be guessed against.
Values with no byte form (containers, claims, objects) are shown as ``[REDACTED:<kind>]``.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from cryptorails import secret as _secret_module
from cryptorails._sensitive import Claims, Plaintext
from cryptorails.redact._detectors import Found, find_secrets, find_secrets_bytes, resolve_overlaps
from cryptorails.redact._known import KnownMaterial
from cryptorails.redact._names import DEFAULT_ALLOW_NAMES, DEFAULT_DENY_NAMES, NameRules
from cryptorails.secret import Secret

__all__ = ["REDACTION_FAILED", "RedactionPolicy"]

# What a sink shows instead of a record whose redaction failed: never the raw record.
REDACTION_FAILED = "[REDACTION FAILED]"

_FP_HEX = 8
_MIN_FP_KEY = 16
# No detector matches fewer characters than this; shorter strings skip the scan, which
# keeps the common case (short keys and values in a log event) cheap.
_MIN_SCAN = 8
_MASKED = re.compile(r"\[REDACTED:[A-Za-z0-9:._-]*\]")
# Scalars whose text cannot carry a secret and that structured sinks serialise natively.
_SAFE_SCALARS = (
    int,
    float,
    complex,
    type(None),
    datetime.date,
    datetime.time,
    datetime.timedelta,
    decimal.Decimal,
    uuid.UUID,
    enum.Enum,
)
_BYTES = (bytes, bytearray, memoryview)


class RedactionPolicy:
    """Decides what is masked in logs and traces, and masks it.

    Args:
        allow_names: extra names exempt from the name rule (whole normalised names,
            e.g. ``"token_kind"``), added to `DEFAULT_ALLOW_NAMES`.
        deny_names: extra names or phrases whose values are always masked (e.g.
            ``"license"``, ``"x-internal-auth"``), added to `DEFAULT_DENY_NAMES`.
        fingerprint_key: key of the mask fingerprints (bytes or `Secret`, at least 16
            bytes). Give one key to every process whose logs should correlate; by
            default a per-process random key is used.
        known: registered key material to look for (a new, empty one by default).
        max_depth: containers nested deeper are masked whole (``[REDACTED:too-deep]``).
        max_nodes: values visited per `redact` call; the rest of a container is replaced
            by one ``[REDACTED:truncated]`` entry.
        max_scan_chars: characters scanned per call; text beyond it is cut and replaced
            by ``[REDACTED:unscanned]`` (an unscanned tail could hold anything).

    Raises:
        TypeError, ValueError: for arguments of the wrong type or range.
    """

    __slots__ = ("_fp_key", "_max_depth", "_max_nodes", "_max_scan", "_names", "known")

    def __init__(
        self,
        *,
        allow_names: Iterable[str] = (),
        deny_names: Iterable[str] = (),
        fingerprint_key: bytes | Secret | None = None,
        known: KnownMaterial | None = None,
        max_depth: int = 32,
        max_nodes: int = 10_000,
        max_scan_chars: int = 4_000_000,
    ) -> None:
        if isinstance(allow_names, str) or isinstance(deny_names, str):
            raise TypeError("allow_names and deny_names are iterables of names, not one str")
        self._names = NameRules(
            (*DEFAULT_DENY_NAMES, *deny_names), (*DEFAULT_ALLOW_NAMES, *allow_names)
        )
        if fingerprint_key is None:
            self._fp_key = _secret_module._FINGERPRINT_KEY
        else:
            if isinstance(fingerprint_key, Secret):
                fingerprint_key = fingerprint_key.reveal()
            if not isinstance(fingerprint_key, bytes):
                raise TypeError("fingerprint_key must be bytes or a Secret")
            if len(fingerprint_key) < _MIN_FP_KEY:
                raise ValueError(f"fingerprint_key must be at least {_MIN_FP_KEY} bytes")
            self._fp_key = fingerprint_key
        if known is not None and not isinstance(known, KnownMaterial):
            raise TypeError("known must be a KnownMaterial")
        self.known: KnownMaterial = known if known is not None else KnownMaterial()
        # Each level costs three Python frames; 256 levels stay well inside the default
        # recursion limit even when logging is called from deep in a stack.
        self._max_depth = _limit("max_depth", max_depth, 1, 256)
        self._max_nodes = _limit("max_nodes", max_nodes, 1, 10**8)
        self._max_scan = _limit("max_scan_chars", max_scan_chars, 1, 2**40)

    def register(self, material: bytes | bytearray | memoryview | Secret) -> None:
        """Look for `material` (a key, a password) in every value from now on.

        It is found raw and in the encodings `KnownMaterial` knows (hex, base64,
        base64url, PEM, DER) and masked with kind ``known-key``. Material shorter than
        16 bytes is ignored (it would match noise).

        Raises:
            TypeError: `material` is not bytes-like or a `Secret`.
        """
        self.known.add(material)

    def denies_name(self, name: str) -> bool:
        """Whether a value under `name` is masked whole (the name rule)."""
        if not isinstance(name, str):
            raise TypeError("name must be a str")
        return self._names.denied(name)

    def fingerprint(self, data: bytes | str) -> str:
        """The keyed fingerprint shown in masks: 8 hex digits of HMAC-SHA256."""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        return hmac.new(self._fp_key, data, hashlib.sha256).hexdigest()[:_FP_HEX]

    def mask(self, kind: str, data: bytes | str | None = None) -> str:
        """The text that replaces a value: ``[REDACTED:kind:fp]`` (``[REDACTED:kind]``)."""
        if data is None:
            return f"[REDACTED:{kind}]"
        return f"[REDACTED:{kind}:{self.fingerprint(data)}]"

    def redact(self, value: object, name: str | None = None) -> object:
        """A copy of `value` with everything sensitive masked. Never mutates `value`.

        dicts (and other mappings) become dicts, lists lists, tuples tuples, sets sets;
        dict keys name their values. Strings keep their text with only the secret spans
        replaced; bytes likewise (detected on their latin-1 text). Numbers, None, dates,
        UUIDs and enums pass unchanged unless their name is denied. Any other object
        becomes the redacted text of its `repr()`, which is what log renderers would
        show. Nesting deeper than `max_depth`, cycles and values beyond `max_nodes` are
        replaced by markers, so hostile input cannot hang or crash the call.

        Args:
            value: what is about to be logged or exported.
            name: the field name `value` sits under, if any.
        """
        return _Walk(self, keep_objects=False).value(value, name, 0)

    def redact_text(self, text: str) -> str:
        """`text` with every detected secret span replaced by its mask."""
        if not isinstance(text, str):
            raise TypeError("redact_text takes a str")
        return _Walk(self, keep_objects=False).text(text)

    def _redact_keep_objects(
        self, value: object, name: str | None = None, *, scan_text: bool = True
    ) -> object:
        """`redact`, but unknown objects pass unchanged (their text is redacted later).

        For the logging filter, which renders ``msg % args`` itself and then redacts the
        whole text: converting an argument to its `repr()` first would change what
        ``%s`` prints. With `scan_text` False, strings skip the value detectors (the
        rendered message is scanned as a whole afterwards); the name rule, marked types
        and bytes are handled as usual.
        """
        return _Walk(self, keep_objects=True, scan_text=scan_text).value(value, name, 0)

    def _spans(self, text: str, data: bytes | None = None) -> list[Found]:
        """Secret spans of `text` (or of `data`, whose latin-1 decoding `text` is)."""
        if data is None:
            found = find_secrets(text)
            found.extend(self.known.find(text))
        else:
            found = find_secrets_bytes(data)
            found.extend(self.known.find(data))
        if not found:
            return found
        if "[REDACTED:" in text:
            # Idempotence: a mask made by an earlier pass is not a secret to mask again.
            done = [(m.start(), m.end()) for m in _MASKED.finditer(text)]
            found = [f for f in found if not any(a <= f.start and f.end <= b for a, b in done)]
        return _merge(found)


class _Walk:
    """One `redact` call: its budgets and the containers on the current path."""

    __slots__ = ("_chars", "_keep", "_nodes", "_path", "_policy", "_scan")

    def __init__(
        self, policy: RedactionPolicy, *, keep_objects: bool, scan_text: bool = True
    ) -> None:
        self._policy = policy
        self._keep = keep_objects
        self._scan = scan_text
        self._nodes = policy._max_nodes
        self._chars = policy._max_scan
        self._path: set[int] = set()

    def value(self, v: object, name: str | None, depth: int) -> object:
        policy = self._policy
        self._nodes -= 1
        if isinstance(v, Secret):
            return policy.mask("secret", v.reveal())
        if isinstance(v, Plaintext):
            return policy.mask("plaintext", bytes(v))
        if isinstance(v, Claims):
            return policy.mask("claims")
        if name is not None and policy._names.denied(name):
            return policy.mask("name", _byte_form(v))
        if isinstance(v, str):
            return self.text(v) if self._scan else v
        if isinstance(v, _SAFE_SCALARS):  # bool is an int
            return v
        if isinstance(v, _BYTES):
            return self.data(v)
        if isinstance(v, Mapping | list | tuple | set | frozenset):
            return self.container(v, name, depth)
        if self._keep:
            return v
        try:
            text = repr(v)
        except Exception:
            return policy.mask("unrepresentable")
        return self.text(text)

    def container(self, v: object, name: str | None, depth: int) -> object:
        if depth >= self._policy._max_depth:
            return self._policy.mask("too-deep")
        key = id(v)
        if key in self._path:
            return self._policy.mask("cycle")
        self._path.add(key)
        try:
            if isinstance(v, Mapping):
                return self.mapping(v, depth)
            return self.sequence(v, name, depth)  # type: ignore[arg-type]
        except Exception:
            # A hostile container (raising __iter__, __len__, items()) is not shown.
            return self._policy.mask("unreadable")
        finally:
            self._path.discard(key)

    def mapping(self, v: Mapping[Any, Any], depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for k, item in v.items():
            if self._nodes <= 0:
                out["[REDACTED:truncated]"] = self._policy.mask("truncated")
                break
            if isinstance(k, str):
                out[self.text(k) if self._scan else k] = self.value(item, k, depth + 1)
            elif isinstance(k, _BYTES):
                out[self.data(k)] = self.value(item, bytes(k).decode("latin-1"), depth + 1)
            else:
                out[k] = self.value(item, None, depth + 1)
        return out

    def sequence(
        self,
        v: list[Any] | tuple[Any, ...] | set[Any] | frozenset[Any],
        name: str | None,
        depth: int,
    ) -> object:
        items: list[Any] = []
        for item in v:
            if self._nodes <= 0:
                items.append(self._policy.mask("truncated"))
                break
            # Elements share their container's name: ``{"api_keys": [...]}`` is masked
            # whole above; here the name only matters for nested mappings.
            items.append(self.value(item, None, depth + 1))
        if isinstance(v, list):
            return items
        if isinstance(v, tuple):
            return tuple(items)
        try:
            return type(v)(items) if type(v) in (set, frozenset) else set(items)
        except TypeError:  # an element became unhashable: keep the values, lose the type
            return items

    def text(self, s: str) -> str:
        if len(s) < _MIN_SCAN:
            return s
        budget = self._chars
        cut = len(s) > budget
        head = s[:budget] if cut else s
        self._chars = budget - len(head)
        spans = self._policy._spans(head) if head else []
        out = _apply(head, spans, self._policy, "utf-8")
        return out + self._policy.mask("unscanned") if cut else out

    def data(self, b: bytes | bytearray | memoryview) -> bytes:
        raw = bytes(b)
        if len(raw) < _MIN_SCAN:
            return raw
        budget = self._chars
        cut = len(raw) > budget
        head = raw[:budget] if cut else raw
        self._chars = budget - len(head)
        # latin-1 maps each byte to one character, so text offsets are byte offsets.
        text = head.decode("latin-1")
        spans = self._policy._spans(text, head) if head else []
        out = _apply(text, spans, self._policy, "latin-1").encode("latin-1")
        return out + self._policy.mask("unscanned").encode() if cut else out


def _merge(found: list[Found]) -> list[Found]:
    """Sorted, non-overlapping spans covering every finding.

    Overlapping findings are masked as one span over their union: keeping only the
    "best" one would leave the rest of a partly overlapping secret in clear. The union
    takes the kind of the most specific finding in it (`resolve_overlaps`).
    """
    kinds = {f.start: f.kind for f in resolve_overlaps(found)}
    found = sorted((f for f in found if f.end > f.start), key=lambda f: (f.start, -f.end))
    groups: list[list[int]] = []  # [start, end]
    for f in found:
        if groups and f.start < groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], f.end)
        else:
            groups.append([f.start, f.end])
    best = sorted(kinds.items())
    merged = []
    i = 0
    for start, end in groups:
        while i < len(best) and best[i][0] < start:
            i += 1
        kind = best[i][1] if i < len(best) and best[i][0] < end else "secret"
        merged.append(Found(kind=kind, start=start, end=end))
    return merged


def _apply(text: str, spans: list[Found], policy: RedactionPolicy, encoding: str) -> str:
    """Replace each span by its mask, fingerprinted over the span's original bytes."""
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for f in spans:
        parts.append(text[pos : f.start])
        secret = text[f.start : f.end].encode(encoding, "surrogatepass")
        parts.append(policy.mask(f.kind, secret))
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)


def _byte_form(v: object) -> bytes | None:
    """What a value under a denied name is fingerprinted over, if it has a byte form."""
    if isinstance(v, str):
        return v.encode("utf-8", "surrogatepass")
    if isinstance(v, _BYTES):
        return bytes(v)
    if isinstance(v, bool | int | float) or v is None:
        try:
            return repr(v).encode()
        except ValueError:  # an int beyond the str conversion limit
            return None
    return None


def _limit(what: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int")
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}")
    return value
