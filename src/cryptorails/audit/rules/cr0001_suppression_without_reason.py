"""CR0001: a suppression comment without a reason."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from cryptorails.audit._context import FileContext
from cryptorails.audit._engine import suppression_comments
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import Severity, rule


@rule(
    code="CR0001",
    name="suppression-without-reason",
    case=0,
    severity=Severity.LOW,
    cwe=1078,
    nodes=(ast.Module,),
    requires=[["cryptorails:"]],
)
def check(node: ast.AST, ctx: FileContext) -> Iterator[Finding]:
    """Finds ``# cryptorails: ignore[...]`` comments that give no reason.

    ## What it does
    Reports a suppression comment with no reason after the bracket. Such a comment
    suppresses nothing: the finding it meant to hide is reported as well.

    ## Why is this bad?
    A suppression is a decision that someone will have to revisit. Without the reason,
    the next reader cannot tell a reviewed exception from a silenced alarm.

    ## Example
    ```python
    if token == expected:  # cryptorails: ignore[CR0501]
        ...
    ```

    ## Use instead
    Say why the finding does not apply: `# cryptorails: ignore[CR0501] compares two
    public ETags, not secrets`.

    ## References
    - CWE-1078: Inappropriate Source Code Style or Formatting
    """
    for comment in suppression_comments(ctx.source):
        if not comment.reason:
            marker = ast.Pass(lineno=comment.line, col_offset=comment.column)
            yield ctx.report(marker, "suppression without a reason suppresses nothing")
