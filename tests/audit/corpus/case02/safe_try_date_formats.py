# expect: none
"""Parses dates from CSV imports in whatever format the bank sends."""

from datetime import datetime

FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y%m%d")
DECODERS = ("utf-8", "cp1252", "latin-1")


def parse_date(text: str) -> datetime:
    for fmt in FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise ValueError(f"unrecognised date: {text!r}")


def decode_line(raw: bytes) -> str:
    for encoding in DECODERS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("undecodable line")
