"""`cryptorails scan`: find the ten failure cases in Python code.

The engine parses each file once, indexes it in one walk and runs every selected rule
over the node types it asks for; rules live one per module in `cryptorails.audit.rules`.
"""

from cryptorails.audit._engine import ScanResult, check_source, find_files, scan
from cryptorails.audit._finding import Finding
from cryptorails.audit._registry import DOC_HEADINGS, Rule, Severity, all_rules, rule

__all__ = [
    "DOC_HEADINGS",
    "Finding",
    "Rule",
    "ScanResult",
    "Severity",
    "all_rules",
    "check_source",
    "find_files",
    "rule",
    "scan",
]
