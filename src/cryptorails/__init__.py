"""cryptorails: keep cryptography from silently breaking in production."""

from cryptorails.aead import Sealer
from cryptorails.algorithms import Algorithm, KeyKind
from cryptorails.canonical import CanonicalJSONError
from cryptorails.clock import Clock, SystemClock
from cryptorails.context import Context
from cryptorails.errors import (
    ConfigurationError,
    CryptoRailsError,
    DecryptionError,
    PolicyError,
    Reason,
    VerificationError,
)
from cryptorails.keys import Key, Keyring, Keyset, KeyState, LocalKek
from cryptorails.secret import Secret
from cryptorails.tokens import Jwks, TokenIssuer, TokenVerifier, TrustedIssuers

__all__ = [
    "Algorithm",
    "CanonicalJSONError",
    "Clock",
    "ConfigurationError",
    "Context",
    "CryptoRailsError",
    "DecryptionError",
    "Jwks",
    "Key",
    "KeyKind",
    "KeyState",
    "Keyring",
    "Keyset",
    "LocalKek",
    "PolicyError",
    "Reason",
    "Sealer",
    "Secret",
    "SystemClock",
    "TokenIssuer",
    "TokenVerifier",
    "TrustedIssuers",
    "VerificationError",
]
