"""Authenticated encryption: primitives, the blob format and the `Sealer` recipe."""

from cryptorails.aead.sealer import Sealer

__all__ = ["Sealer"]
