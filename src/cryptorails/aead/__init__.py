"""Authenticated encryption: algorithms, the blob format and the `Sealer` recipe."""

# _algorithms first: the keys package imports it while `sealer` is importing keys.
from cryptorails.aead._algorithms import Algorithm
from cryptorails.aead.sealer import Sealer

__all__ = ["Algorithm", "Sealer"]
