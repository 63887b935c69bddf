"""`cryptorails triage ...`: diagnose crypto failures from captured inputs.

Operator tools, never on the serving path: they may say exactly which check failed,
because the person reading them is the operator, not the sender of the input.
"""

from __future__ import annotations

from cryptorails.cli._common import cli


@cli.group()
def triage() -> None:
    """Diagnose a failing token, blob or request, clock skew, or failure logs."""
