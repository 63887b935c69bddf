"""Hazardous materials: primitives where the caller chooses the nonce.

These functions are here for interoperability and conformance testing. Reusing a nonce
with the same key destroys confidentiality and authenticity of every message under it.
Use `cryptorails.Sealer`, which chooses nonces itself, unless you are implementing a
protocol that fixes them.
"""

from __future__ import annotations

from cryptorails.aead._xaes import XaesKey

__all__ = ["xaes256gcm_decrypt", "xaes256gcm_encrypt"]


def xaes256gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """XAES-256-GCM encryption (C2SP) with a caller-chosen 24-byte nonce.

    Returns ciphertext || 16-byte tag. Raises `ValueError` for a key that is not 32 bytes
    or a nonce that is not 24 bytes.
    """
    return XaesKey(key).encrypt(nonce, plaintext, aad)


def xaes256gcm_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """XAES-256-GCM decryption. Raises `cryptography.exceptions.InvalidTag` on failure."""
    return XaesKey(key).decrypt(nonce, ciphertext, aad)
