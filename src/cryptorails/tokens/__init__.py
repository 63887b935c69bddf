"""Signed tokens: JWS compact over RFC 8785 canonical JSON, bound to trusted keys.

* `TokenIssuer` signs with the primary key of a keyring keyset (Ed25519 by default,
  ES256 or HS256).
* `TokenVerifier` verifies tokens of one trusted issuer against one keyset or `Jwks`;
  the key decides the algorithm, `kid` only selects inside that set, and the payload is
  parsed once from the verified bytes.
* `TrustedIssuers` maps tenants (from server state) to their verifiers.
* `load_trust_file` builds `TrustedIssuers` from an operator's trust file.
* `Jwks` parses a third-party issuer's JWK Set strictly (EdDSA, ES256, RS256, PS256 and,
  with an explicit opt-in, HS256).
"""

from cryptorails.tokens._issuer import DEFAULT_TOKEN_ALGORITHM, TokenIssuer
from cryptorails.tokens._jwk import Jwks
from cryptorails.tokens._trusted import TrustedIssuers
from cryptorails.tokens._trustfile import load_trust_file
from cryptorails.tokens._verifier import DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, TokenVerifier

__all__ = [
    "DEFAULT_LEEWAY",
    "DEFAULT_MAX_TOKEN_BYTES",
    "DEFAULT_TOKEN_ALGORITHM",
    "Jwks",
    "TokenIssuer",
    "TokenVerifier",
    "TrustedIssuers",
    "load_trust_file",
]
