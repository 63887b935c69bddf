"""Authenticated encryption: primitives, the blob format and the `Sealer` recipe."""

from cryptorails.aead._format import BlobHeader, read_header
from cryptorails.aead.sealer import Sealer

__all__ = ["BlobHeader", "Sealer", "read_header"]
