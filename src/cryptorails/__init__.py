"""cryptorails: keep cryptography from silently breaking in production."""

from cryptorails.aead import Sealer
from cryptorails.algorithms import Algorithm, KeyKind
from cryptorails.canonical import CanonicalJSONError
from cryptorails.clock import Clock, SystemClock, Window
from cryptorails.context import Context
from cryptorails.errors import (
    ConfigurationError,
    CryptoRailsError,
    DecryptionError,
    IdempotencyError,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    PolicyError,
    Reason,
    StoreUnavailable,
    VerificationError,
)
from cryptorails.keys import Key, Keyring, Keyset, KeyState, Ledger, LocalKek
from cryptorails.overrides import Override, OverridePolicy, Overrides
from cryptorails.replay import Idempotency, ReplayGuard
from cryptorails.secret import Secret
from cryptorails.stores import Store, open_store
from cryptorails.tokens import Jwks, TokenIssuer, TokenVerifier, TrustedIssuers

__all__ = [
    "Algorithm",
    "CanonicalJSONError",
    "Clock",
    "ConfigurationError",
    "Context",
    "CryptoRailsError",
    "DecryptionError",
    "Idempotency",
    "IdempotencyError",
    "IdempotencyInFlight",
    "IdempotencyKeyReused",
    "Jwks",
    "Key",
    "KeyKind",
    "KeyState",
    "Keyring",
    "Keyset",
    "Ledger",
    "LocalKek",
    "Override",
    "OverridePolicy",
    "Overrides",
    "PolicyError",
    "Reason",
    "ReplayGuard",
    "Sealer",
    "Secret",
    "Store",
    "StoreUnavailable",
    "SystemClock",
    "TokenIssuer",
    "TokenVerifier",
    "TrustedIssuers",
    "VerificationError",
    "Window",
    "open_store",
]
