"""Kubernetes Secret manifests: the base64 values under ``data:``.

A Secret's ``data`` values are base64 (Kubernetes API, core/v1 Secret: "The serialized
form of the secret data is a base64 encoded string"), so no pattern finds a credential
in them as written. These helpers locate each value, YAML or JSON, without a YAML
library: only the shape ``data:`` followed by more-indented ``name: base64`` lines (YAML)
or ``"data": {"name": "base64", ...}`` (JSON, as ``kubectl get -o json`` writes) matters.
``stringData`` holds plain text and is found by the ordinary scan.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["EncodedValue", "secret_values"]

_KIND = re.compile(rb"""^[ \t]*(?:-[ \t]+)?kind:[ \t]*["']?Secret["']?[ \t]*(?:#.*)?\r?$""", re.M)
_JSON_KIND = re.compile(rb'"kind"\s*:\s*"Secret"')
_DOCUMENT = re.compile(rb"^---[^\n]*\n", re.M)
_DATA = re.compile(rb"^(?P<indent>[ \t]*)(?:-[ \t]+)?data:[ \t]*(?:#[^\n]*)?\r?\n", re.M)
_LINE = re.compile(rb"(?P<indent>[ \t]*)(?P<rest>[^\n]*)(?:\n|$)")
_ENTRY = re.compile(
    rb"""(?P<name>"[^"\n]+"|'[^'\n]+'|[-._A-Za-z0-9]+):[ \t]*"""
    rb"""(?P<quote>["']?)(?P<value>[A-Za-z0-9+/=_-]+)(?P=quote)[ \t]*(?:#.*)?\r?"""
)
_JSON_DATA = re.compile(rb'"data"\s*:\s*\{(?P<body>[^{}]*)\}')
_JSON_ENTRY = re.compile(rb'"(?P<name>[^"\\]+)"\s*:\s*"(?P<value>[A-Za-z0-9+/=_-]+)"')
_MAX_VALUE = 1 << 20


@dataclass(frozen=True, slots=True)
class EncodedValue:
    """One ``data`` entry: its name, where the encoded value is, and the decoded bytes."""

    name: bytes
    start: int
    end: int
    decoded: bytes


def _decode(value: bytes) -> bytes | None:
    if len(value) > _MAX_VALUE:
        return None
    try:
        if b"-" in value or b"_" in value:
            return base64.urlsafe_b64decode(value + b"=" * (-len(value) % 4))
        return base64.b64decode(value + b"=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _yaml_values(text: bytes, offset: int) -> Iterator[EncodedValue]:
    for data in _DATA.finditer(text):
        indent = len(data.group("indent").expandtabs())
        pos = data.end()
        while pos < len(text):
            line = _LINE.match(text, pos)
            if line is None or line.end() == pos:
                break
            rest = line.group("rest").strip()
            if rest and not rest.startswith(b"#"):
                if len(line.group("indent").expandtabs()) <= indent:
                    break  # dedent: the data block is over
                entry = _ENTRY.fullmatch(text, line.start("rest"), line.end("rest"))
                if entry is not None:
                    decoded = _decode(entry.group("value"))
                    if decoded is not None:
                        start, end = entry.span("value")
                        name = entry.group("name").strip(b"\"'")
                        yield EncodedValue(name, offset + start, offset + end, decoded)
            pos = line.end()


def secret_values(text: bytes) -> Iterator[EncodedValue]:
    """Every base64 ``data`` value of every Kubernetes Secret in `text` (YAML or JSON).

    Offsets are into `text`. Values that are not valid base64 are skipped.
    """
    if _JSON_KIND.search(text):
        for block in _JSON_DATA.finditer(text):
            for entry in _JSON_ENTRY.finditer(text, block.start("body"), block.end("body")):
                decoded = _decode(entry.group("value"))
                if decoded is not None:
                    start, end = entry.span("value")
                    yield EncodedValue(entry.group("name"), start, end, decoded)
        return
    starts = [0] + [m.end() for m in _DOCUMENT.finditer(text)]
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        document = text[start:end]
        if _KIND.search(document):
            yield from _yaml_values(document, start)
