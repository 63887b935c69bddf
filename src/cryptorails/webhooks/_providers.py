"""Verifiers for three widespread proprietary webhook schemes: Stripe, Slack, GitHub.

All three are HMAC-SHA256 with hex tags and a shared secret used as-is (its UTF-8 bytes
are the HMAC key). What differs is what is signed and what limits a replay:

* Stripe signs ``{t}.{body}`` and Slack ``v0:{ts}:{body}``; both carry a timestamp, so a
  window bounds replays in time and the guard removes them inside it. Neither sends a
  message id in a header, so the guard's id is a hash of the signed content: an exact
  replay repeats it, a legitimate retry (new timestamp) does not.
* GitHub signs only the body and sends no timestamp, so a captured delivery stays valid
  forever; the only defence is deduplicating its ``X-GitHub-Delivery`` id, which is why
  `GitHubVerifier` requires a guard and refuses one that forgets ids sooner than its
  `remember` period (30 days by default).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from cryptorails.clock import Clock, SystemClock, Window
from cryptorails.errors import ConfigurationError, Reason, VerificationError
from cryptorails.replay import ReplayCheck
from cryptorails.secret import Secret
from cryptorails.webhooks._common import (
    MAX_SIGNATURES,
    MESSAGE_ID,
    TimeWindow,
    constant_time_match,
    get_header,
    parse_unix_seconds,
)

__all__ = ["GitHubVerifier", "SlackVerifier", "StripeVerifier"]

_HEX_TAG = re.compile(r"[0-9a-f]{64}")


def _secrets(secrets: str | Secret | Sequence[str | Secret]) -> list[Secret]:
    items = [secrets] if isinstance(secrets, str | Secret) else list(secrets)
    if not items:
        raise ValueError("at least one trusted secret is needed")
    out = []
    for item in items:
        if isinstance(item, str):
            item = Secret(item.encode("utf-8"))
        if not isinstance(item, Secret):
            raise TypeError("a webhook secret is a str or Secret")
        if len(item) < 16:
            raise ValueError("a webhook secret has at least 16 bytes")
        out.append(item)
    return out


def _hex_tag(text: str) -> bytes:
    # Lowercase hex only: one accepted text per tag.
    if _HEX_TAG.fullmatch(text) is None:
        raise VerificationError(Reason.MALFORMED)
    return bytes.fromhex(text)


def _tags(secrets: list[Secret], content: bytes) -> list[bytes]:
    return [hmac.new(s.reveal(), content, hashlib.sha256).digest() for s in secrets]


def _body(body: bytes) -> bytes:
    if not isinstance(body, bytes):
        raise VerificationError(Reason.WRONG_TYPE)
    return body


class _TimestampedHmac:
    """What Stripe and Slack share: secrets, a symmetric window, an optional guard."""

    _NAMESPACE = ""

    def __init__(
        self,
        secrets: str | Secret | Sequence[str | Secret],
        guard: ReplayCheck | None = None,
        tolerance: timedelta = timedelta(minutes=5),
        clock: Clock | None = None,
        *,
        namespace: str | None = None,
    ) -> None:
        self._secrets = _secrets(secrets)
        self._window = TimeWindow(tolerance, clock)
        self._guard = guard
        self._namespace = namespace or self._NAMESPACE

    def _accept(self, content: bytes, tags: list[bytes], timestamp: datetime) -> None:
        """Signature first, then the window, then the guard (keyed by the content hash)."""
        if not constant_time_match(_tags(self._secrets, content), tags):
            raise VerificationError(Reason.SIGNATURE_INVALID)
        self._window.check(timestamp)
        if self._guard is not None:
            self._guard.check(self._namespace, hashlib.sha256(content).hexdigest(), timestamp)


class StripeVerifier(_TimestampedHmac):
    """Verifies ``Stripe-Signature: t=...,v1=...[,v1=...]`` (HMAC-SHA256 over ``t.body``).

    Args:
        secrets: the endpoint's signing secret(s) (``whsec_...``, used as-is); several
            while Stripe rolls a secret.
        guard: deduplicates the signed content (always give one in production).
        tolerance: symmetric window around now for ``t``.
        clock: the time source.
        namespace: the guard namespace (default ``stripe``).
    """

    _NAMESPACE = "stripe"

    def verify(self, headers: Mapping[str, str], body: bytes) -> bytes:
        """Verify and return the body. Raises `VerificationError`."""
        body = _body(body)
        header = get_header(headers, "stripe-signature")
        unverified_t: str | None = None
        tags: list[bytes] = []
        items = header.split(",")
        if len(items) > MAX_SIGNATURES + 2:
            raise VerificationError(Reason.TOO_LARGE)
        for item in items:
            key, eq, value = item.partition("=")
            if not eq or not key or not value:
                raise VerificationError(Reason.MALFORMED)
            if key == "t":
                if unverified_t is not None:
                    raise VerificationError(Reason.MALFORMED)
                unverified_t = value
            elif key == "v1":
                tags.append(_hex_tag(value))
            # Other schemes (v0: test mode's legacy scheme) are never accepted.
        if unverified_t is None:
            raise VerificationError(Reason.MISSING_HEADER)
        timestamp = parse_unix_seconds(unverified_t)
        self._accept(unverified_t.encode("ascii") + b"." + body, tags, timestamp)
        return body


class SlackVerifier(_TimestampedHmac):
    """Verifies ``X-Slack-Signature: v0=...`` with ``X-Slack-Request-Timestamp``
    (HMAC-SHA256 over ``v0:{timestamp}:{body}``).

    Args:
        secrets: the app's signing secret(s), used as-is.
        guard: deduplicates the signed content (always give one in production).
        tolerance: symmetric window around now for the timestamp.
        clock: the time source.
        namespace: the guard namespace (default ``slack``).
    """

    _NAMESPACE = "slack"

    def verify(self, headers: Mapping[str, str], body: bytes) -> bytes:
        """Verify and return the body. Raises `VerificationError`."""
        body = _body(body)
        unverified_ts = get_header(headers, "x-slack-request-timestamp")
        signature = get_header(headers, "x-slack-signature")
        timestamp = parse_unix_seconds(unverified_ts)
        version, eq, value = signature.partition("=")
        if not eq or version != "v0":
            raise VerificationError(Reason.MALFORMED)
        content = b"v0:" + unverified_ts.encode("ascii") + b":" + body
        self._accept(content, [_hex_tag(value)], timestamp)
        return body


class GitHubVerifier:
    """Verifies ``X-Hub-Signature-256: sha256=...`` (HMAC-SHA256 over the body) and
    deduplicates ``X-GitHub-Delivery`` through the guard.

    GitHub signs no timestamp, so a captured delivery verifies forever and the guard's
    memory is the only thing that refuses its replay: the guard is required, it is asked
    with the current time as the message time, and so its `Window` span is how long a
    delivery id is remembered. A guard whose window is shorter than `remember` is
    refused here, e.g. a 5-minute window would let a captured delivery replay after
    about 10 minutes. Give it its own long window, e.g.
    ``ReplayGuard(store, Window(timedelta(days=30)))``.

    The trade-off in `remember`: the store keeps one small record per delivery for that
    long (more storage), and a delivery captured longer ago than that can be replayed
    (weaker protection). Rotating the secret ends the validity of every captured
    delivery, so a secret rotated at least every `remember` closes the gap entirely.

    A redelivery of the same event (GitHub's "Redeliver" button keeps the delivery id)
    is refused as a replay too: with nothing signed but the body, a redelivery and a
    replay are the same bytes.

    Args:
        secrets: the webhook secret(s), used as-is.
        guard: a replay guard on a shared store (required).
        clock: the time source; its now is what the guard is given as the message time.
        namespace: the guard namespace (default ``github``).
        remember: the shortest time the guard must remember a delivery id.

    Raises:
        ValueError: no guard, or a non-positive `remember`. TypeError: `remember` is not
            a timedelta. ConfigurationError: the guard's window is shorter than `remember`.
    """

    def __init__(
        self,
        secrets: str | Secret | Sequence[str | Secret],
        guard: ReplayCheck,
        clock: Clock | None = None,
        *,
        namespace: str = "github",
        remember: timedelta = timedelta(days=30),
    ) -> None:
        if guard is None:
            raise ValueError("GitHubVerifier needs a replay guard: GitHub signs no timestamp")
        if not isinstance(remember, timedelta):
            raise TypeError("remember is a timedelta")
        if remember <= timedelta(0):
            raise ValueError("remember must be positive")
        # `ReplayGuard` keeps its `Window` private for now; a guard that exposes it as
        # `window` (the accessor proposed for `cryptorails.replay.ReplayGuard`) is checked
        # here. A guard that does not expose one cannot be checked and is trusted as is.
        window = getattr(guard, "window", None)
        if isinstance(window, Window) and window.span < remember:
            raise ConfigurationError(
                f"GitHubVerifier needs a guard that remembers delivery ids for {remember}, "
                f"but its window spans only {window.span} (a captured delivery could be "
                "replayed after that): give it a Window of at least that span"
            )
        self._secrets = _secrets(secrets)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._guard = guard
        self._namespace = namespace

    def verify(self, headers: Mapping[str, str], body: bytes) -> bytes:
        """Verify and return the body. Raises `VerificationError`."""
        body = _body(body)
        delivery = get_header(headers, "x-github-delivery")
        signature = get_header(headers, "x-hub-signature-256")
        if MESSAGE_ID.fullmatch(delivery) is None:
            raise VerificationError(Reason.MALFORMED)
        scheme, eq, value = signature.partition("=")
        if not eq or scheme != "sha256":
            raise VerificationError(Reason.MALFORMED)
        tag = _hex_tag(value)
        if not constant_time_match(_tags(self._secrets, body), [tag]):
            raise VerificationError(Reason.SIGNATURE_INVALID)
        # No signed time exists: the guard gets the current time, which always passes
        # its window, and records the id for the window's span.
        now: datetime = self._clock.now()
        self._guard.check(self._namespace, delivery, now)
        return body
