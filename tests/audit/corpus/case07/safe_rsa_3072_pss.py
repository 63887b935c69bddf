# expect: none
"""Signs outgoing invoices (RSA-PSS with SHA-256) and makes keys of adequate size."""

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

RSA_KEY_BITS = 3072
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)


def new_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def sign_invoice(private_key: rsa.RSAPrivateKey, invoice_xml: bytes) -> bytes:
    return private_key.sign(invoice_xml, PSS, hashes.SHA256())


def verify_invoice(public_key: rsa.RSAPublicKey, invoice_xml: bytes, signature: bytes) -> None:
    public_key.verify(signature, invoice_xml, PSS, hashes.SHA256())
