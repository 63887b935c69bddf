# expect: 7
"""Generates the signing key pair for each new on-prem appliance."""

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def provision_appliance(out_dir: Path, passphrase: bytes) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (out_dir / "appliance.key").write_bytes(private_pem)
    (out_dir / "appliance.pub").write_bytes(public_pem)
    return out_dir / "appliance.pub"
