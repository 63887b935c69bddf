"""Runtime facts, drift between hosts, deployment policy and a CBOM (failure case 7).

``collect()`` records what the crypto runtime of this process is; ``diff()`` compares two
records; ``check()``/``enforce()`` hold them to a per-environment `Policy`;
``cbom_json()`` exports a CycloneDX 1.6 cryptographic bill of materials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptorails.runtime._diff import Difference, diff, format_diff
from cryptorails.runtime._facts import RuntimeFacts, collect, fingerprint
from cryptorails.runtime._policy import Policy, Violation, check, enforce

if TYPE_CHECKING:
    from cryptorails.keys import Keyring

__all__ = [
    "Difference",
    "Policy",
    "RuntimeFacts",
    "Violation",
    "cbom_json",
    "check",
    "collect",
    "diff",
    "enforce",
    "fingerprint",
    "format_diff",
]


def cbom_json(facts: RuntimeFacts, keyring: Keyring | None = None) -> str:
    """A CycloneDX 1.6 CBOM of `facts` (and `keyring`'s keys) as JSON text.

    Needs the ``cbom`` extra (cyclonedx-python-lib); the rest of this module does not.

    Raises:
        ConfigurationError: cyclonedx-python-lib is not installed.
    """
    try:
        from cryptorails.runtime._cbom import cbom_json as build
    except ImportError:
        from cryptorails.errors import ConfigurationError

        raise ConfigurationError(
            "the CBOM needs cyclonedx-python-lib: pip install 'cryptorails[cbom]'"
        ) from None
    return build(facts, keyring)
