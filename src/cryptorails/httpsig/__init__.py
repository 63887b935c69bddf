"""RFC 9421 HTTP Message Signatures with RFC 9530 ``Content-Digest``.

`sign` adds ``Signature-Input`` and ``Signature`` to an `HttpMessage`; a `Verifier`
checks one signature against a trusted keyset and a `Policy`. Every verification
failure is the one `VerificationError`.
"""

from cryptorails.httpsig._components import signature_base
from cryptorails.httpsig._digest import content_digest, verify_content_digest
from cryptorails.httpsig._keys import HttpSigAlgorithm, SignatureKey
from cryptorails.httpsig._message import HttpMessage, parse_request, parse_response
from cryptorails.httpsig._sign import parse_component, sign
from cryptorails.httpsig._verify import Policy, VerifiedSignature, Verifier, unverified_keyids

__all__ = [
    "HttpMessage",
    "HttpSigAlgorithm",
    "Policy",
    "SignatureKey",
    "VerifiedSignature",
    "Verifier",
    "content_digest",
    "parse_component",
    "parse_request",
    "parse_response",
    "sign",
    "signature_base",
    "unverified_keyids",
    "verify_content_digest",
]
