# expect: none
"""Tenant data sealed with cryptorails: the context picks the keyset and is bound into AAD."""

import os

from cryptorails import Context, Keyring, LocalKek, Sealer

keyring = Keyring.open(
    os.environ["KEYRING_PATH"], kek=LocalKek.from_env("KEYRING_KEK"), environment="prod"
)
sealer = Sealer(keyring)


def seal_invoice(tenant_id: str, invoice_number: str, pdf: bytes) -> bytes:
    ctx = Context(tenant=tenant_id, purpose="invoices")
    return sealer.seal(pdf, ctx, aad=invoice_number.encode())


def open_invoice(tenant_id: str, invoice_number: str, blob: bytes) -> bytes:
    ctx = Context(tenant=tenant_id, purpose="invoices")
    return sealer.open(blob, ctx, aad=invoice_number.encode())
