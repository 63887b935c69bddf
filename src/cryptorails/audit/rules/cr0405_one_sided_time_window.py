"""CR0405: a timestamp window that bounds only the past."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit._vocab import identifier
from cryptorails.audit.rules._prefilter import CLOCK, CLOCK_GATE, group, starting
from cryptorails.audit.rules._time import words_of
from cryptorails.audit.rules._windows import first_windows

_SIGNED_NAME = frozenset({"iat", "timestamp", "issued", "signed", "sent", "ts", "t", "date"})
_STRONG_NAME = frozenset({"iat", "timestamp", "issued", "signed", "sent"})
# Token decoders that already refuse a timestamp from the future (PyJWT checks `iat`,
# itsdangerous refuses a negative age): a manual max-age check after them is complete.
_FUTURE_CHECKED = frozenset({"jwt.decode", "jwt.api_jwt.decode", "jwt.PyJWT.decode"})
# `_signed`'s words: a `_STRONG_NAME` word starting an identifier or key, a subscript of
# ``headers``, or a key holding the word `t`, `ts` or `date` (``parts["t"]``, ``"X-Ts"``).
_SIGNED_WORDS = group(
    "timestamp", "issued", "headers[", starting("iat"), "iat_", starting("sent"), "sent_",
    "sentat", starting("signed"), "signed_",
    # the key itself (``parts["t"]``, ``.get("date")``) or one of its words (``"X-Ts"``)
    *(f"{opening}{quote}{word}" for opening in ("[", "get(") for quote in "'\""
      for word in ("t" + quote, "ts" + quote, "date")),
    *(f"{sep}{word}{end}" for word in ("t", "ts", "date") for sep in "-_"
      for end in ("'", '"', sep)),
    *(f"{quote}{word}{sep}" for word in ("t", "ts") for quote in "'\"" for sep in "-_"),
)  # fmt: skip


@rule(
    code="CR0405",
    name="one-sided-time-window",
    case=4,
    severity=Severity.MEDIUM,
    cwe=294,
    nodes=(ast.Module,),
    # A window on the wall clock (`first_windows`) over a value `_signed` accepts.
    requires=[CLOCK_GATE, CLOCK, _SIGNED_WORDS],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds freshness checks on signed timestamps that accept any future time.

    ## What it does
    Reports a function that rejects a signed timestamp (a webhook or request timestamp,
    an `iat` claim) when it is too old — `now - ts > MAX`, `ts < now - MAX` — but has no
    comparison that rejects one too far in the future (`ts - now > skew`,
    `ts > now + skew`, or `abs(now - ts) > MAX`).

    ## Why is this bad?
    `now - ts` is negative for a future timestamp, so it is never "too old". A message
    signed with a timestamp an hour ahead (by an attacker who can get one signed, or by
    a client whose clock runs fast) is accepted now and stays replayable for an hour
    plus the window; a token with a future `iat` never ages out.

    ## Example
    ```python
    timestamp = int(headers["X-Timestamp"])
    if time.time() - timestamp > 300:
        raise PermissionError("request too old")
    ```

    ## Use instead
    Check both sides with one symmetric window: `cryptorails.Window(past=timedelta(
    minutes=5)).check(timestamp, now)` (its `future` defaults to `past`), or
    `abs(time.time() - timestamp) > 300`; `cryptorails.webhooks.WebhookVerifier` and
    `cryptorails.ReplayGuard` do this for you.

    ## References
    - CWE-294: Authentication Bypass by Capture-replay
    - RFC 9421 §7.2.2 (signature creation time and expiration)
    - Standard Webhooks specification (timestamp tolerance in both directions)
    """
    for windows in first_windows(ctx).values():
        if any("future" in w.sides for w in windows):
            continue
        first = windows[0]
        if _future_checked_elsewhere(ctx, first.value) or not _signed(ctx, first.value):
            continue
        yield ctx.report(
            first.compare,
            "only too-old timestamps are refused: one from the future passes and stays "
            "valid longer than the window",
        )


def _signed(ctx: FileContext, value: ast.AST) -> bool:
    """Whether the compared value is a signed or received timestamp: named like one, or
    read from a header, a claim or a signature parameter (`t=`)."""
    if words_of(identifier(value)) & _STRONG_NAME:
        return True
    for node in ctx.walk_values(value):
        key: str | None = None
        if isinstance(node, ast.Name) and words_of(identifier(node)) & _STRONG_NAME:
            return True
        if isinstance(node, ast.Subscript):
            key = identifier(node)
            if identifier(node.value) == "headers":
                return True
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            key = node.args[0].value.lower().replace("-", "_")
        if key is not None and words_of(key) & _SIGNED_NAME:
            return True
    return False


def _future_checked_elsewhere(ctx: FileContext, value: ast.AST) -> bool:
    for node in ctx.walk_values(value):
        if isinstance(node, ast.Call) and ctx.call_name(node) in _FUTURE_CHECKED:
            return True
    return False
