"""`HttpMessage`: the few parts of an HTTP request or response that signatures cover,
and a parser from raw HTTP/1.1 text (for tests, fixtures and tools)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

__all__ = ["HttpMessage", "parse_request", "parse_response"]

_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_METHOD = _FIELD_NAME
# RFC 9112 §5.2: an obs-fold is a line break followed by at least one space or tab.
_OBS_FOLD = re.compile(r"\r?\n[ \t]+")
# RFC 9112 §2.2 lets a recipient take a bare LF as a line terminator, so the head ends at
# the first empty line whichever ending each line uses; anything after it is the body,
# even when the body itself holds a CRLF CRLF.
_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
# RFC 9112 §4: status-code = 3DIGIT (ASCII; no sign, no padding).
_STATUS_CODE = re.compile(r"[0-9]{3}")


@dataclass(frozen=True)
class HttpMessage:
    """An HTTP request (`method` and `target_uri`) or response (`status`).

    Args:
        method: the request method, as sent (``"POST"``); None for a response.
        target_uri: the absolute target URI (``"https://example.com/foo?x=1"``).
        headers: the field lines in order, as (name, value) pairs; a name may repeat.
        body: the content bytes.
        status: the response status code; None for a request.
    """

    method: str | None = None
    target_uri: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())
    body: bytes = b""
    status: int | None = None

    def __post_init__(self) -> None:
        if (self.status is None) == (self.method is None):
            raise ValueError("a message is a request (method, target_uri) or a response (status)")
        if self.method is not None:
            if _METHOD.fullmatch(self.method) is None:
                raise ValueError("method is an HTTP token")
            if self.target_uri is None:
                raise ValueError("a request needs a target_uri")
            parts = urlsplit(self.target_uri)
            if not parts.scheme or not parts.netloc:
                raise ValueError("target_uri is absolute (scheme://authority/...)")
        if self.status is not None and not (
            isinstance(self.status, int) and 100 <= self.status <= 999
        ):
            raise ValueError("status is a three-digit integer")
        object.__setattr__(self, "headers", tuple((str(n), str(v)) for n, v in self.headers))
        if not isinstance(self.body, bytes):
            raise TypeError("body is bytes")

    @property
    def is_request(self) -> bool:
        return self.method is not None

    def header_lines(self, name: str) -> list[str]:
        """The values of every field line named `name` (case-insensitive), in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def with_headers(self, extra: dict[str, str] | list[tuple[str, str]]) -> HttpMessage:
        """A copy with field lines appended (e.g. the ones `sign` returns)."""
        items = list(extra.items()) if isinstance(extra, dict) else list(extra)
        return replace(self, headers=(*self.headers, *items))

    def without_headers(self, *names: str) -> HttpMessage:
        """A copy without any field line of the given names."""
        drop = {n.lower() for n in names}
        return replace(self, headers=tuple(h for h in self.headers if h[0].lower() not in drop))


def _split(raw: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    end = _END_OF_HEAD.search(raw)
    head, body = (raw[: end.start()], raw[end.end() :]) if end else (raw, b"")
    text = head.decode("latin-1")
    # Unfold obs-fold into a single space (RFC 9112 §5.2), before splitting lines.
    text = _OBS_FOLD.sub(" ", text)
    lines = text.replace("\r\n", "\n").split("\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or _FIELD_NAME.fullmatch(name) is None:
            raise ValueError(f"not a header line: {line!r}")
        headers.append((name, value.strip(" \t")))
    return lines[0], headers, body


def parse_request(raw: bytes, scheme: str = "https") -> HttpMessage:
    """Parse a raw HTTP/1.1 request; the target URI is rebuilt from `scheme`, the
    ``Host`` header and the request target (RFC 9112 §3.3).

    Raises:
        ValueError: not a request this parser understands.
    """
    start, headers, body = _split(raw)
    parts = start.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError("not a request line")
    method, target, _ = parts
    if target.startswith(("http://", "https://")):
        uri = target
    else:
        hosts = [v for n, v in headers if n.lower() == "host"]
        if len(hosts) != 1 or not target.startswith("/"):
            raise ValueError("an origin-form request needs exactly one Host header")
        uri = f"{scheme}://{hosts[0]}{target}"
    return HttpMessage(method=method, target_uri=uri, headers=tuple(headers), body=body)


def parse_response(raw: bytes) -> HttpMessage:
    """Parse a raw HTTP/1.1 response.

    Raises:
        ValueError: not a response this parser understands.
    """
    start, headers, body = _split(raw)
    parts = start.split(" ", 2)
    if (
        len(parts) < 2
        or not parts[0].startswith("HTTP/")
        or _STATUS_CODE.fullmatch(parts[1]) is None
    ):
        raise ValueError("not a status line")
    return HttpMessage(status=int(parts[1]), headers=tuple(headers), body=body)
