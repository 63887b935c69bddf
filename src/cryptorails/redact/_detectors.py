"""Value detectors: find credentials and key material in log text and in raw bytes.

Shared by log redaction (short strings, `find_secrets`) and the artifact scanner (large
files, `find_secrets_bytes`). Both run the same rules, shaped for speed:

1. **Probes** (the literal keyword prefilter). Every rule names short lowercase
   *anchors* ("token", "eyj", "://", ...). The anchors are grouped by their rarest byte
   (the *pivot*), and each group becomes one regex that starts with that single literal
   byte: CPython's `re` finds a leading literal with a tight C loop (GB/s), while a
   pattern that starts with an alternation or a character class is tried at every
   position (tens of MB/s). The rest of each anchor, and what must follow it (an `=` or
   `:` for an assignment), is checked by look-around in C, so "password reset email"
   never reaches Python. The input is read once, in 1 MiB chunks; each chunk is
   lowercased (so "Password" and "PASSWORD" cost nothing more; offsets are unchanged,
   `bytes.lower` is ASCII-only) and the ~10 probes scan it while it is in cache.
2. **Rules.** Only at a probe hit does the rule's own exact regex run, anchored there
   on the original bytes, followed by its filters.
3. **Overlaps.** A secret found by several rules (a JWT after ``Bearer``, a GitHub token
   in ``password=``) is reported once, under the most specific kind.

Offsets of `find_secrets_bytes` are byte offsets; `find_secrets` returns str offsets.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import math
import mmap
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KINDS",
    "Found",
    "find_secrets",
    "find_secrets_bytes",
    "is_placeholder",
    "resolve_overlaps",
    "shannon_entropy",
]

Buffer = bytes | bytearray | memoryview | mmap.mmap


@dataclass(frozen=True, slots=True)
class Found:
    """One secret: its kind and the span of the secret value itself."""

    kind: str
    start: int
    end: int


# Most specific first: when findings overlap, the higher one is kept.
_PRIORITY = {
    "known-key": 100,
    "gcp-service-account": 96,
    "private-key": 95,
    "aws-access-key": 90,
    "aws-secret-key": 90,
    "github-token": 90,
    "gitlab-token": 90,
    "slack-token": 90,
    "slack-webhook": 90,
    "stripe-key": 90,
    "google-api-key": 90,
    "azure-storage-key": 90,
    "webhook-secret": 90,
    "jwt": 80,
    "basic-auth-url": 70,
    "bearer-credential": 60,
    "session-cookie": 50,
    "generic-credential": 40,
}
KINDS: frozenset[str] = frozenset(_PRIORITY)
"""Every kind a detector (or `KnownMaterial`) reports."""

# -- filters ---------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    rb"""(?ix)
      \$\{[^}]*\}? | \$\([^)]*\)? | \$[a-z_][a-z0-9_]*      # ${VAR} $(cmd) $VAR
    | \{\{.*?(?:\}\}|$) | \{%.*                             # {{ var }} {% tag %}
    | %\(\w+\)[a-z] | %[sdr] | %[a-z_]+%                    # %(name)s %s %VAR%
    | <[^>]*>? | \[redacted[^\]]*\]? | \[filtered\]? | \[masked\]?
    | .*(?:redacted|placeholder|changeme|change_me|your[_-]|example|dummy).*
    | [*x.#_-]+                                              # ****, xxxx, ...
    | (?:pass(?:word|wd)?|secret|token|null|none|nil|undefined|hidden|masked|todo|test)
    """
)


def is_placeholder(value: bytes) -> bool:
    """Whether `value` is a mask, template, variable reference or stock placeholder."""
    return _PLACEHOLDER.fullmatch(value.strip()) is not None


def shannon_entropy(value: bytes) -> float:
    """Bits per byte of `value`'s own byte distribution (0.0 for an empty value)."""
    n = len(value)
    if not n:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


_WORDLIKE = re.compile(rb"[a-z]+(?:[_.-][a-z]+)*|[A-Z][a-z]+|[A-Z]+(?:_[A-Z0-9]+)*|[0-9.,:+-]+")
_NOT_SECRET = re.compile(
    rb"""(?ix)
      [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}   # UUID
    | (?:sha(?:1|224|256|384|512)|md5)[:=-][0-9a-f]+                 # digest reference
    | (?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-|sk-ssh-|pk_(?:live|test)_).*         # public keys
    | -----begin\ (?:public|certificate).*
    | (?:[a-z][a-z0-9+.-]*://|/|\./|~/|file:).*                          # URL or path
    | \d{4}-\d\d-\d\d(?:[t\ ]\d\d:\d\d(?::\d\d)?(?:[.,]\d+)?(?:z|[+-]\d\d:?\d\d)?)?  # date
    """
)


def _generic_value_ok(value: bytes) -> bool:
    """Filters for keyword-introduced values (the only rule with an entropy floor)."""
    if len(value) < 6 or is_placeholder(value) or _WORDLIKE.fullmatch(value):
        return False
    if _NOT_SECRET.fullmatch(value):
        return False
    # Random 6..16 byte values reach log2(len) bits at most; ask for 80% of that, capped
    # at 2.5 bits (an English word of the same length rarely gets there).
    return shannon_entropy(value) >= min(2.5, 0.8 * math.log2(len(value)))


def _token_ok(value: bytes) -> bool:
    """Filters for vendor tokens: reject masks such as ``ghp_xxxx...`` and doc examples.

    Not an entropy test: a token drawn at random from 32+ symbols has many distinct
    bytes; a mask or a made-up example has few.
    """
    varied = len(set(value)) >= min(10, len(value) // 2)
    return varied and b"EXAMPLE" not in value and not is_placeholder(value)


def _jwt_ok(value: bytes) -> bool:
    header = value.split(b".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + b"=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(decoded, dict) and ("alg" in decoded or "enc" in decoded)


def _basic_ok(value: bytes) -> bool:
    """``Basic`` credentials are base64("user:password")."""
    try:
        decoded = base64.b64decode(value + b"=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    _user, colon, password = decoded.partition(b":")
    printable = all(32 <= b < 127 or b >= 128 for b in decoded)
    return bool(colon) and printable and bool(password) and not is_placeholder(password)


def _url_password_ok(value: bytes) -> bool:
    return not is_placeholder(value) and not (value.isdigit() and len(value) <= 5)


# -- rules -----------------------------------------------------------------------------

Emit = Callable[[Buffer, "re.Match[bytes]", int], Iterator[Found]]


@dataclass(frozen=True)
class _Rule:
    """A detector: anchors for the probes, a regex for the text at a hit, an emitter.

    The regex is matched at the anchor's start, or, with `before`, searched in a window
    from `before` bytes ahead of the anchor. `after` bounds how far past the anchor a
    match may reach. `follow` is what must come right after the anchor (in the
    lowercased text) for the rule to run at all: a cheap look-ahead in the probe that
    drops "password reset email sent" before any Python code sees it.
    """

    anchors: tuple[bytes, ...]  # lowercase; matched in any case
    pattern: re.Pattern[bytes]
    emit: Emit
    after: int = 512
    follow: bytes = b""
    before: int = 0
    exact: bool = False  # anchors are matched as written (case-sensitive), on the raw bytes


def _value(kind: str, check: Callable[[bytes], bool], groups: tuple[str, ...] = ("v",)) -> Emit:
    """Emit the span of the first of `groups` that took part in the match, if it passes."""

    def emit(buf: Buffer, m: re.Match[bytes], n: int) -> Iterator[Found]:
        for group in groups:
            start, end = m.span(group)
            if start >= 0:
                if check(bytes(buf[start:end])):
                    yield Found(kind, start, end)
                return

    return emit


# A separator between a name and its value: `=`, `:`, `=>`, `:=` with an optional
# (maybe backslash-escaped, for JSON inside a JSON string) quote around the name, or the
# HAR / OTLP shapes `"name": "X", "value": "..."` and `"key": "X", "value": {"stringValue": ...}`.
_SEP = (
    rb"""(?:\\?["'])?(?:[ \t]*(?:=>|:=|:)[ \t]*|=|[ \t]+=[ \t]+"""
    rb"""|\s*,\s*\\?"value\\?"\s*:\s*(?:\{\s*\\?"(?:stringValue|arrayValue)\\?"\s*:\s*"""
    rb"""(?:\{\s*\\?"values\\?"\s*:\s*\[\s*\{\s*\\?"stringValue\\?"\s*:\s*)?)?)"""
)
# A value: quoted (spaces and commas allowed inside) or bare (stops at delimiters).
_VALUE = (
    rb"""(?:\\?(?P<q>["'])(?P<v>[^"'\\\r\n]{1,256})\\?(?P=q)"""
    rb"""|(?P<w>[^\s"'\\,;&<>(){}\[\]`]{1,256}))"""
)
_KEYWORDS = (
    rb"password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    rb"|(?:signing|encryption|master|session|hmac)[_-]?key|credentials?|creds|auth"
)
# Only these may follow a keyword inside one name: `db_password_b64` is a credential,
# `token_count`, `secret_name` and `tokenizer` are not.
_SUFFIX = rb"(?:[_.-]?(?:access[_.-]?)?(?:key|value|b64|base64|hex|str|string|plain|raw|text))?"
_GENERIC = re.compile(
    rb"(?i)(?P<kw>" + _KEYWORDS + rb")" + _SUFFIX + rb"(?![a-z0-9_.-])" + _SEP + _VALUE
)
# Names that merely contain a keyword: pagination cursors, counters, flags.
_NOT_A_CREDENTIAL_NAME = re.compile(
    rb"(?i)(?:page|next|continuation|cursor|sync|max|num|total|prompt|completion|input|output"
    rb"|is|has|use|enable|require|show|csrf|xsrf)[_.-]?$"
)


_NAME_BYTES = (string.ascii_letters + string.digits + "_.-").encode()


def _generic(buf: Buffer, m: re.Match[bytes], n: int) -> Iterator[Found]:
    name_start = m.start("kw")
    before = bytes(buf[max(0, name_start - 32) : name_start])
    prefix = before[len(before.rstrip(_NAME_BYTES)) :]  # the rest of the name, before the keyword
    if not _NOT_A_CREDENTIAL_NAME.search(prefix):
        yield from _GENERIC_VALUE(buf, m, n)


_GENERIC_VALUE = _value("generic-credential", _generic_value_ok, ("v", "w"))
_PEM_BEGIN = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(rb"-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----")
_PEM_MARKER = re.compile(rb"-----(?:BEGIN|END) ")
_PEM_BODY = re.compile(rb"(?:[A-Za-z0-9+/=\s\\:,.]|-(?!----))*+")
_NOT_BASE64 = bytes(b for b in range(256) if not chr(b).isalnum() and b not in b"+/")
_MAX_PEM = 32768


def _private_key(buf: Buffer, m: re.Match[bytes], n: int) -> Iterator[Found]:
    """From the BEGIN line to the END line (or the end of the body, if cut off)."""
    start, body_start = m.span()
    limit = min(n, body_start + _MAX_PEM)
    # Stop at the next marker of any kind: linear however many headers a dump holds.
    marker = _PEM_MARKER.search(buf, body_start, limit)
    end_m = _PEM_END.match(buf, marker.start(), limit) if marker else None
    if end_m is not None:
        body_end, end = end_m.start(), end_m.end()
    else:
        body = _PEM_BODY.match(buf, body_start, marker.start() if marker else limit)
        body_end = end = body.end() if body else body_start
    # A BEGIN line alone (code that checks for one, a truncated log line) is no key.
    if len(bytes(buf[body_start:body_end]).translate(None, _NOT_BASE64)) < 40:
        return
    around = bytes(buf[max(0, start - 4096) : min(n, end + 4096)])
    gcp = b"private_key" in bytes(buf[max(0, start - 64) : start]) and b"service_account" in around
    yield Found("gcp-service-account" if gcp else "private-key", start, end)


def _cookies(buf: Buffer, m: re.Match[bytes], n: int) -> Iterator[Found]:
    """Session-ish cookies of a Cookie / Set-Cookie header value."""
    offset = m.start("c")
    for pair in _COOKIE_PAIR.finditer(m.group("c")):
        if _SESSION_NAME.search(pair.group("n")) and _session_value_ok(pair.group("v")):
            yield Found("session-cookie", offset + pair.start("v"), offset + pair.end("v"))


def _har_cookies(buf: Buffer, m: re.Match[bytes], n: int) -> Iterator[Found]:
    """HAR ``"cookies": [{"name": ..., "value": ...}, ...]`` arrays."""
    for pair in _HAR_PAIR.finditer(buf, m.start("c"), m.end("c")):
        if _SESSION_NAME.search(pair.group("n")) and _session_value_ok(pair.group("v")):
            yield Found("session-cookie", pair.start("v"), pair.end("v"))


def _session_value_ok(value: bytes) -> bool:
    return len(value) >= 16 and not is_placeholder(value) and shannon_entropy(value) >= 3.0


_COOKIE_PAIR = re.compile(rb"(?:^|[;,]\s*)(?P<n>[^=;,\s]{1,128})=(?P<v>[^;,\s]*)")
_HAR_PAIR = re.compile(
    rb'\\?"name\\?"\s*:\s*\\?"(?P<n>[^"\\]{1,128})\\?"\s*,\s*'
    rb'\\?"value\\?"\s*:\s*\\?"(?P<v>[^"\\]{1,4096})\\?"'
)
_SESSION_NAME = re.compile(
    rb"(?i)^(?!.*[cx]srf)(?:.*(?:sess|token|auth|jwt|remember|identity)|(?:.*[_.-])?sid$)"
)


# What may follow an assignment anchor: more of the name, a quote, then `:` `=` `=>`,
# or the `", "value":` of a HAR / OTLP name-value pair. A superset of `_SEP`.
_FOLLOW_ASSIGN = rb"""[a-z0-9_.-]{0,32}+(?:\\?["'])?(?:[ \t]*[:=]|\s*,\s*\\?"value)"""
_FOLLOW_URL = rb"""[^\s:/?#@"'<>\\]{0,128}+:[^\s/@"'<>\\]{1,256}+@"""
_GENERIC_ANCHORS = tuple(
    b"password passwd passphrase secret token auth api_key apikey api-key access_key accesskey"
    b" access-key private_key privatekey private-key signing_key encryption_key master_key"
    b" session_key hmac_key credential creds".split()
)


def _build_rules() -> list[_Rule]:
    token = _token_ok
    b = rb"(?<![A-Za-z0-9_-])"  # a token starts at a boundary
    e = rb"(?![A-Za-z0-9])"
    assign = _FOLLOW_ASSIGN
    return [
        _Rule((b"private key",), _PEM_BEGIN, _private_key, 24, rb"(?: block)?-----", before=48),
        _Rule(
            (b"eyj",),
            re.compile(b + rb"(?P<v>eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{16,})(?![\w-])"),
            _value("jwt", _jwt_ok),
            after=16384,
        ),
        _Rule(
            (b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"A3T"),
            re.compile(b + rb"(?P<v>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})" + e),
            _value("aws-access-key", token),
            after=24,
            exact=True,
        ),
        _Rule(
            (b"secret_access_key", b"secretaccesskey", b"secret-access-key", b"aws_secret"),
            re.compile(
                rb"(?i:aws[_.-]?secret(?:[_.-]?access)?(?:[_.-]?key)?|secret[_.-]?access[_.-]?key)"
                + _SEP
                + rb"\\?[\"']?(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
            ),
            _value("aws-secret-key", token),
            follow=assign,
        ),
        _Rule(
            (b"AIza",),
            re.compile(rb"(?P<v>AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])"),
            _value("google-api-key", token),
            after=48,
            exact=True,
        ),
        _Rule(
            (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"),
            re.compile(b + rb"(?P<v>gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_\w{60,240})" + e),
            _value("github-token", token),
            after=300,
        ),
        _Rule(
            (b"glpat-", b"glptt-", b"glrt-", b"gldt-"),
            re.compile(b + rb"(?P<v>gl(?:pat|ptt|rt|dt)-[A-Za-z0-9_-]{20,200})" + e),
            _value("gitlab-token", token),
            after=240,
        ),
        _Rule(
            (b"xox", b"xapp-"),
            re.compile(b + rb"(?P<v>xox[abposre]-[A-Za-z0-9-]{10,250}|xapp-[A-Za-z0-9-]{20,250})"),
            _value("slack-token", token),
            after=280,
        ),
        _Rule(
            (b"hooks.slack.com",),
            re.compile(
                rb"hooks\.slack\.com/(?P<v>(?:services|workflows|triggers)/[\w/+-]{20,200})"
            ),
            _value("slack-webhook", token),
            after=240,
        ),
        _Rule(
            (b"sk_live_", b"sk_test_", b"rk_live_", b"rk_test_"),
            re.compile(b + rb"(?P<v>[sr]k_(?:live|test)_[0-9A-Za-z]{16,247})" + e),
            _value("stripe-key", token),
            after=280,
        ),
        _Rule(
            (b"whsec_",),
            re.compile(b + rb"(?P<v>whsec_[A-Za-z0-9+/]{24,}={0,2})(?![A-Za-z0-9+/=])"),
            _value("webhook-secret", token),
            after=400,
        ),
        _Rule(
            (b"accountkey", b"account_key", b"sharedaccesskey"),
            re.compile(
                rb"(?i:account_?key|shared_?access_?key)"
                + _SEP
                + rb"\\?[\"']?(?P<v>[A-Za-z0-9+/]{40,}={0,2})(?![A-Za-z0-9+/=])"
            ),
            _value("azure-storage-key", token),
            after=300,
            follow=assign,
        ),
        _Rule(
            (b"://",),
            re.compile(rb"://[^\s:/?#@\"'<>\\]{0,128}:(?P<v>[^\s/@\"'<>\\]{1,256})@(?=[\w\[])"),
            _value("basic-auth-url", _url_password_ok),
            after=400,
            follow=_FOLLOW_URL,
        ),
        _Rule(
            (b"bearer",),
            re.compile(rb"(?i:\bbearer)[ \t]+(?P<v>[A-Za-z0-9._~+/-]{12,4096}=*)(?![\w.~+/=-])"),
            _value("bearer-credential", lambda v: not is_placeholder(v)),
            after=4200,
            follow=rb"[ \t]+[a-z0-9._~+/-]",
        ),
        _Rule(
            (b"basic",),
            re.compile(rb"(?i:\bbasic)[ \t]+(?P<v>[A-Za-z0-9+/]{8,1024}={0,2})(?![\w+/=])"),
            _value("bearer-credential", _basic_ok),
            after=1100,
            follow=rb"[ \t]+[a-z0-9+/]",
        ),
        _Rule(
            (b"auth",),
            re.compile(
                rb"(?i:authorization)"
                + _SEP
                + rb"\\?[\"']?(?:(?i:token|bot|apikey|api-key|key|sso-key|ssws)[ \t]+)?"
                + rb"(?!(?i:bearer|basic|aws4-|digest|negotiate|signature|hmac|ntlm))"
                + rb"(?P<v>[A-Za-z0-9._~+/:=-]{12,4096})"
            ),
            _value("bearer-credential", lambda v: not is_placeholder(v)),
            after=4200,
            follow=assign,
        ),
        _Rule(
            (b"cookie",),
            re.compile(rb"(?i:cookie)" + _SEP + rb"\\?[\"']?(?P<c>[^\"\\\r\n]{1,8192})"),
            _cookies,
            after=8300,
            follow=assign,
        ),
        _Rule(
            (b"cookies",),
            re.compile(rb'(?i:cookies)\\?"\s*:\s*\[(?P<c>[^\]]{0,16384})'),
            _har_cookies,
            after=16400,
            follow=rb'\\?"\s*:\s*\[',
        ),
        _Rule(_GENERIC_ANCHORS, _GENERIC, _generic, after=400, follow=assign),
    ]


# -- probes ----------------------------------------------------------------------------

# Bytes roughly from rarest to commonest in logs (hex digits and vowels are common): the
# pivot of an anchor is its first byte in this order, and anchors sharing a pivot share
# one probe, so fewer distinct pivots means fewer passes. Bytes not listed (uppercase,
# used by the exact anchors) rank last, ties going to the first byte.
_RARITY = b"zqjxkvwygh_-/b:pfmucldrnstioae0123456789"
_BEHIND = 64  # longer than any anchor: a chunk re-reads this much before its start...
_AHEAD = 512  # ... and this much after its end, for anchors and their `follow`
_CHUNK = 1 << 20  # lowercased at a time: small enough to stay in cache for all probes


def _rank(byte: int) -> int:
    i = _RARITY.find(bytes([byte]))
    return i if i >= 0 else len(_RARITY)


@dataclass(frozen=True)
class _Probe:
    regex: re.Pattern[bytes]
    # (anchor, pivot index, rules) for every anchor of this pivot byte
    anchors: tuple[tuple[bytes, int, tuple[_Rule, ...]], ...]


def _build_probes(rules: Iterable[_Rule], exact: bool) -> list[_Probe]:
    by_anchor: dict[bytes, list[_Rule]] = {}
    for rule in rules:
        if rule.exact == exact:
            for anchor in rule.anchors:
                by_anchor.setdefault(anchor, []).append(rule)
    groups: dict[int, list[tuple[bytes, int, tuple[_Rule, ...]]]] = {}
    for anchor, anchor_rules in by_anchor.items():
        # Exact anchors start with an uppercase letter, rare in logs: pivot there.
        pivot = 0 if exact else min(range(len(anchor)), key=lambda i: _rank(anchor[i]))
        groups.setdefault(anchor[pivot], []).append((anchor, pivot, tuple(anchor_rules)))
    return [_Probe(_probe_regex(byte, members), tuple(members)) for byte, members in groups.items()]


def _probe_regex(
    pivot: int, members: list[tuple[bytes, int, tuple[_Rule, ...]]]
) -> re.Pattern[bytes]:
    """``pivot`` then a look-ahead trie of what follows it in each anchor; an anchor with
    bytes before its pivot ends in a look-behind for the whole anchor.

    Only the pivot is consumed, so a hit never hides the next one. A trie rather than a
    flat alternation: `re` rejects a branch on its first literal byte, so at a pivot byte
    that starts no anchor only a few bytes are compared.
    """
    trie: dict[int, Any] = {}
    for anchor, i, rules in members:
        node = trie
        for byte in anchor[i + 1 :]:
            node = node.setdefault(byte, {})
        follows = list(dict.fromkeys(r.follow for r in rules))
        follow = b"" if b"" in follows else b"(?:" + b"|".join(follows) + b")"
        behind = b"(?<=" + re.escape(anchor) + b")" if i else b""
        node.setdefault(-1, []).append(behind + follow)

    def regex(node: dict[int, Any]) -> bytes:
        branches = [re.escape(bytes([b])) + regex(child) for b, child in node.items() if b >= 0]
        ends = node.get(-1, [])
        if b"" in ends:
            return b""  # an anchor ends here and needs nothing more
        branches += ends
        return branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"

    return re.compile(re.escape(bytes([pivot])) + b"(?=" + regex(trie) + b")")


_RULES = _build_rules()
_FOLDED_PROBES = _build_probes(_RULES, exact=False)
_EXACT_PROBES = _build_probes(_RULES, exact=True)


def _probe(
    probes: list[_Probe], text: Buffer, first: int, stop: int, shift: int
) -> Iterator[tuple[int, _Rule]]:
    for probe in probes:
        # Look-aheads may read past `stop` (an anchor that starts in this chunk), but no
        # hit at or after `stop` is taken: the next chunk reports it.
        for m in probe.regex.finditer(text, first, stop + _AHEAD):
            p = m.start()
            if p >= stop:
                break
            for anchor, i, rules in probe.anchors:
                if p >= i and (
                    text.startswith(anchor, p - i)
                    if isinstance(text, bytes)
                    else text[p - i : p - i + len(anchor)] == anchor
                ):
                    for rule in rules:
                        yield shift + p - i, rule


def _hits(buf: Buffer, n: int) -> Iterator[tuple[int, _Rule]]:
    """(anchor start, rule) for every anchor occurrence, chunk by chunk."""
    for base in range(0, n, _CHUNK):
        stop = min(n, base + _CHUNK)
        yield from _probe(_EXACT_PROBES, buf, base, stop, 0)
        lo = max(0, base - _BEHIND)
        low = bytes(buf[lo : min(n, stop + _AHEAD)]).lower()
        yield from _probe(_FOLDED_PROBES, low, base - lo, stop - lo, lo)


def find_secrets_bytes(data: Buffer) -> list[Found]:
    """Every secret in `data`, as byte spans, sorted by start, overlaps resolved.

    Accepts bytes, bytearray, a byte memoryview or an mmap; nothing is decoded and large
    inputs are lowercased chunk by chunk, so memory stays bounded.
    """
    buf: Buffer = data.cast("B") if isinstance(data, memoryview) and data.format != "B" else data
    n = len(buf)
    found: set[Found] = set()
    # Per rule, the span of its last match: a hit inside it (the "cookie" of a long
    # "cookie=cookie=..." header, the "token" in a matched value) adds nothing, and
    # skipping it keeps hostile input linear.
    last: dict[int, tuple[int, int]] = {}
    for at, rule in _hits(buf, n):
        start, end = last.get(id(rule), (-1, -1))
        if start <= at < end or at == start:
            continue
        hi = min(n, at + rule.after)
        if rule.before:
            matches: Iterable[re.Match[bytes]] = rule.pattern.finditer(
                buf, max(0, at - rule.before), hi
            )
        else:
            match = rule.pattern.match(buf, at, hi)
            matches = () if match is None else (match,)
        last[id(rule)] = (at, at + 1)
        for m in matches:
            last[id(rule)] = (min(at, m.start()), max(at + 1, m.end()))
            found.update(f for f in rule.emit(buf, m, n) if not _in_mask(buf, f.start))
    return resolve_overlaps(found)


# A redaction mask, ``[REDACTED:kind:fingerprint]``, names a kind and shows a keyed
# fingerprint; "secret:1a2b3c4d" inside it is no credential.
_MASK_BEFORE = re.compile(rb"\[REDACTED(?::[A-Za-z0-9_.-]*)*:?$")


def _in_mask(buf: Buffer, start: int) -> bool:
    return _MASK_BEFORE.search(bytes(buf[max(0, start - 64) : start])) is not None


def resolve_overlaps(found: Iterable[Found]) -> list[Found]:
    """Keep one finding per overlapping group: the most specific kind, then the longest."""
    ranked = sorted(found, key=lambda f: (-_PRIORITY.get(f.kind, 0), f.start - f.end, f.start))
    starts: list[int] = []
    kept: list[Found] = []
    for f in ranked:
        i = bisect.bisect_left(starts, f.start)
        if i > 0 and kept[i - 1].end > f.start:
            continue
        if i < len(kept) and kept[i].start < f.end:
            continue
        starts.insert(i, f.start)
        kept.insert(i, f)
    return kept


_CONTINUATION = bytes(range(0x80, 0xC0))


def find_secrets(text: str) -> list[Found]:
    """Every secret in `text` (a log message or field), as str offsets."""
    if not text:
        return []
    raw = text.encode("utf-8", "surrogatepass")
    found = find_secrets_bytes(raw)
    if len(raw) == len(text):
        return found

    def chars(offset: int) -> int:  # UTF-8 bytes before `offset` that start a character
        return len(raw[:offset].translate(None, _CONTINUATION))

    return [Found(f.kind, chars(f.start), chars(f.end)) for f in found]
