"""The `cryptorails` command: a keystore operator's tool and a guided demo.

Exit codes (DESIGN.md): 0 success, 1 a problem was found or an authentication failed,
2 a usage error. A failed open prints only ``decryption failed``: the cause stays inside
the library, so the CLI is no more of an oracle than the API. Misuse (wrong environment,
wrong KEK, forbidden key transition) is explained precisely on stderr as ``error: ...``.
Nothing here ever prints key material.
"""

from __future__ import annotations

# Each module registers its commands on the root group when imported.
from cryptorails.cli import (  # noqa: F401
    _demo,
    _keys,
    _lifecycle,
    _nonces,
    _override,
    _runtime,
    _scan,
    _seal,
    _secrets,
    _shred,
    _token,
    _triage,
    _triage_inputs,
    _triage_ops,
)
from cryptorails.cli._common import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="cryptorails")
