"""Captured requests for `triage_request`: a raw HTTP/1.1 request or a HAR entry.

It holds `Captured` (the message and where it came from) and `load_request`, which reads
either form within a size limit and notes what the capture format may have changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptorails.httpsig import HttpMessage, parse_request

__all__ = ["Captured", "load_request"]

_MAX_CAPTURE = 32 * 1024 * 1024


@dataclass(frozen=True)
class Captured:
    """A captured request and where it came from."""

    message: HttpMessage
    source: str
    notes: tuple[str, ...] = ()


def load_request(data: bytes, *, entry: int = 0, scheme: str = "https") -> Captured:
    """Parse a raw HTTP/1.1 request, or entry `entry` of a HAR file (JSON).

    Args:
        data: the file's bytes.
        entry: which HAR entry (0-based).
        scheme: the scheme of a raw request's target URI (raw HTTP does not carry it).

    Raises:
        ValueError: neither a request nor a HAR file with that entry (the message says why).
    """
    if len(data) > _MAX_CAPTURE:
        raise ValueError(f"capture larger than {_MAX_CAPTURE} bytes")
    if data.lstrip()[:1] == b"{":
        return _from_har(data, entry)
    notes = []
    message = parse_request(data, scheme)
    if any(v.lower() == "chunked" for v in message.header_lines("transfer-encoding")):
        notes.append("the body is chunk-encoded in the capture; signatures cover the content")
    return Captured(message, "raw HTTP/1.1", tuple(notes))


def _from_har(data: bytes, entry: int) -> Captured:
    try:
        # A HAR file is a capture tool's output, not signed input: stdlib JSON is right.
        har = json.loads(data)
        request = har["log"]["entries"][entry]["request"]
        method, url = request["method"], request["url"]
        headers = tuple(
            (str(h["name"]), str(h["value"]))
            for h in request.get("headers", [])
            if not str(h["name"]).startswith(":")  # HTTP/2 pseudo-headers: not fields
        )
        post = request.get("postData") or {}
        text = post.get("text", "")
        if post.get("encoding") == "base64":
            import base64

            body = base64.b64decode(text, validate=True)
        else:
            body = str(text).encode("utf-8")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError) as e:
        raise ValueError(f"not a HAR file with a request at entry {entry}: {e!r:.200}") from None
    if not isinstance(method, str) or not isinstance(url, str):
        raise ValueError("the HAR request needs a method and a url")
    note = "HAR bodies are recorded as text: a byte-exact body may differ from the capture"
    return Captured(
        HttpMessage(method=method, target_uri=url, headers=headers, body=body),
        f"HAR entry {entry}",
        (note,) if body else (),
    )
