"""CR0403: a security duration measured with the wall clock."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule
from cryptorails.audit.rules._prefilter import CLOCK, CLOCK_GATE, SECURITY
from cryptorails.audit.rules._time import clock_candidate, clock_reading, security_context
from cryptorails.audit.rules._windows import flatten


@rule(
    code="CR0403",
    name="wall-clock-duration",
    case=4,
    severity=Severity.LOW,
    cwe=367,
    nodes=(ast.Compare,),
    # Two wall-clock readings, and `security_context` words.
    requires=[CLOCK_GATE, CLOCK, SECURITY],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds lockouts, session ages, OTP validity and rate limits timed with `time.time()`.

    ## What it does
    Reports a comparison that measures an interval between two readings of a wall clock
    taken by this program (`time.time()`, `datetime.now()`; the earlier one kept in a
    variable, an attribute or a dictionary) — `time.time() - started > LOCKOUT`,
    `time.time() < self.locked_until` — when the names involved are about security:
    lockouts, failed logins, sessions, tokens, OTPs, per-client rate limits. Elapsed-time
    logging, retry and polling timeouts, cache ages and comparisons with signed claims
    such as `exp` are not reported.

    ## Why is this bad?
    The wall clock is set, not counted: NTP corrections, a manual change, a VM resumed
    from a snapshot or a leap smear move it backwards or forwards. A step back of an
    hour makes a five-minute lockout last an hour and five minutes; a step forward ends
    it at once, and an attacker who can influence the host's time (a rogue NTP server)
    can end lockouts and revive expired sessions and codes on demand.

    ## Example
    ```python
    LOCKED = {}

    def login_allowed(user):
        return time.time() - LOCKED.get(user, 0) > LOCKOUT_SECONDS
    ```

    ## Use instead
    Measure in-process durations with `time.monotonic()` (through
    `cryptorails.Clock.monotonic()` so tests can fix it); across processes or hosts,
    store aware timestamps and compare them with a skew window
    (`cryptorails.Window`).

    ## References
    - CWE-367: Time-of-check Time-of-use (TOCTOU) Race Condition
    - CWE-613: Insufficient Session Expiration
    - PEP 418 - Add monotonic time functions
    """
    assert isinstance(node, ast.Compare)
    if not any(isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE) for op in node.ops):
        return
    if not clock_candidate(ctx, node):
        return
    left = node.left
    for right in node.comparators:
        terms = flatten(ctx, left, 1)[0] + flatten(ctx, right, -1)[0]
        clocks = [t for t in terms if t.kind == "clock"]
        if any(a.sign == -b.sign for a in clocks for b in clocks) and security_context(
            ctx, node, [t.node for t in terms]
        ):
            reading = next(
                (r for t in clocks if (r := clock_reading(ctx, t.node)) is not None),
                "the wall clock",
            )
            yield ctx.report(
                node,
                f"security duration measured on the wall clock ({reading}); clock steps "
                "shorten or stretch it",
            )
            return
        left = right
