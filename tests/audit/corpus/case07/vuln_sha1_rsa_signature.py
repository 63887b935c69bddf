# expect: 7
"""Signs outgoing invoices as required by the e-invoicing network."""

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding


class InvoiceSigner:
    def __init__(self, private_key) -> None:
        self._key = private_key

    def sign(self, invoice_xml: bytes) -> bytes:
        return self._key.sign(invoice_xml, padding.PKCS1v15(), hashes.SHA1())

    def verify(self, public_key, invoice_xml: bytes, signature: bytes) -> None:
        public_key.verify(signature, invoice_xml, padding.PKCS1v15(), hashes.SHA1())
