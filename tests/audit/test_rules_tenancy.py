"""Multi-tenant rules (CR0801, CR0802): shapes the fixtures do not show, and the traps
that must stay quiet."""

from __future__ import annotations

from textwrap import dedent

import pytest

from cryptorails.audit.rules._tenancy import is_record_id, is_tenant_id

from .conftest import run


def lines(source: str, code: str) -> list[int]:
    return [f.line for f in run(dedent(source), code)]


# -- vocabulary ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "tenant",
        "tenant_id",
        "org_id",
        "organization",
        "current_tenant",
        "workspace_slug",
        "customer_id",
        "account",
        "company_uuid",
        "user_org",
        # The tenant header: FastAPI's `x_tenant_id: str = Header()`, Django's META key.
        "x_tenant_id",
        "x_org",
        "http_x_workspace_id",
    ],
)
def test_tenant_names(name: str) -> None:
    assert is_tenant_id(name)


@pytest.mark.parametrize(
    "name",
    [
        "tenant_key",
        "tenants",
        "service_account",
        "client_id",
        "bank_account",
        "org_key",
        "accounting",
        "tenant_keys",
        "x_tenant_key",
        "http_x_request_id",
        None,
        "",
    ],
)
def test_not_tenant_names(name: str | None) -> None:
    assert not is_tenant_id(name)


@pytest.mark.parametrize(
    "name", ["user_id", "user", "record_id", "invoice_id", "id", "pk", "tenant", "doc_uuid"]
)
def test_record_names(name: str) -> None:
    assert is_record_id(name)


@pytest.mark.parametrize(
    "name", ["key_id", "kid", "request_id", "trace_id", "client_id", "job_id", "data", "nonce"]
)
def test_not_record_names(name: str) -> None:
    assert not is_record_id(name)


# -- CR0801 one-key-for-all-tenants -------------------------------------------------------

MULTIFERNET = """
    from cryptography.fernet import Fernet, MultiFernet
    from django.conf import settings

    ROTATING = MultiFernet([Fernet(settings.KEY_NEW), Fernet(settings.KEY_OLD)])

    def store(org_id, blob):
        return ROTATING.encrypt(blob)
"""

HAZMAT_CIPHER = """
    import os
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    DATA_KEY = bytes.fromhex(os.environ["DATA_KEY_HEX"])

    def seal(tenant, data):
        iv = os.urandom(16)
        enc = Cipher(algorithms.AES(DATA_KEY), modes.CBC(iv)).encryptor()
        return iv + enc.update(data) + enc.finalize()
"""

CLASS_ATTRIBUTE_KEY = """
    import os
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    class Store:
        KEY = os.environ["STORE_KEY"].encode()

        def put(self, workspace_id, data):
            nonce = os.urandom(12)
            return nonce + ChaCha20Poly1305(self.KEY).encrypt(nonce, data, b"store")
"""

FLASK_CONFIG_AT_CALL = """
    from flask import current_app
    import cryptography.fernet as cf

    def encrypt_for(customer_id, data):
        return cf.Fernet(current_app.config["FERNET_KEY"]).encrypt(data)
"""

SECRETBOX_AND_ATTRIBUTE_TENANT = """
    import os
    from nacl.secret import SecretBox

    BOX = SecretBox(os.environ["BOX_KEY"].encode())

    def save(request, data):
        request.audit(request.tenant_id)
        return BOX.encrypt(data)
"""


TENANT_HEADER_PARAMETER = """
    import os
    from cryptography.fernet import Fernet
    from fastapi import Header

    FERNET = Fernet(os.environ["NOTES_KEY"])

    async def create_note(body: bytes, x_org_id: str = Header()) -> bytes:
        return FERNET.encrypt(body)
"""


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (TENANT_HEADER_PARAMETER, 9),
        (MULTIFERNET, 8),
        (HAZMAT_CIPHER, 9),
        (CLASS_ATTRIBUTE_KEY, 10),
        (FLASK_CONFIG_AT_CALL, 6),
        (SECRETBOX_AND_ATTRIBUTE_TENANT, 9),
    ],
)
def test_cr0801_flags(source: str, line: int) -> None:
    assert lines(source, "CR0801") == [line]


CR0801_QUIET = [
    # Looked up per tenant outside this module.
    """
    from cryptography.fernet import Fernet
    from app.keys import get_key

    def store(tenant_id, data):
        return Fernet(get_key(tenant_id)).encrypt(data)
    """,
    # The tenant is bound into the associated data of a shared key.
    """
    import os
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    AEAD = AESGCM(os.environ["K"].encode())

    def store(tenant_id, row_id, data):
        nonce = os.urandom(12)
        aad = b"|".join([tenant_id.encode(), row_id.encode()])
        return nonce + AEAD.encrypt(nonce, data, aad)
    """,
    # PyCryptodome with the tenant in cipher.update.
    """
    from Crypto.Cipher import AES
    KEY = b"0123456789abcdef0123456789abcdef"

    def store(org, data):
        cipher = AES.new(KEY, AES.MODE_GCM)
        cipher.update(org.encode())
        return cipher.encrypt_and_digest(data)
    """,
    # No tenant anywhere: one service key for service data.
    """
    import os
    from cryptography.fernet import Fernet
    F = Fernet(os.environ["K"])

    def cache_put(key, value):
        return F.encrypt(value)
    """,
    # The OAuth client id is not a tenant.
    """
    import os
    from cryptography.fernet import Fernet
    F = Fernet(os.environ["K"])

    def remember(client_id, refresh_token):
        return F.encrypt(refresh_token)
    """,
    # Decryption is where old data is read; the finding belongs to where it was written.
    """
    import os
    from cryptography.fernet import Fernet
    F = Fernet(os.environ["K"])

    def load(tenant_id, blob):
        return F.decrypt(blob)
    """,
    # cryptorails: per-tenant keysets.
    """
    import cryptorails
    sealer = cryptorails.Sealer(cryptorails.Keyring.in_memory(environment="prod"))

    def store(tenant_id, data):
        return sealer.seal(data, cryptorails.Context(tenant=tenant_id, purpose="files"))
    """,
    # A session token that carries the tenant id inside the authenticated plaintext.
    """
    import json, os
    from cryptography.fernet import Fernet
    F = Fernet(os.environ["K"])

    def login_token(account, user):
        payload = json.dumps({"account": account.id, "user": user.id})
        return F.encrypt(payload.encode())
    """,
    # A key held by the tenant object itself.
    """
    from cryptography.fernet import Fernet

    def store(account, data):
        return Fernet(account.data_key).encrypt(data)
    """,
]


@pytest.mark.parametrize("source", CR0801_QUIET)
def test_cr0801_quiet(source: str) -> None:
    assert lines(source, "CR0801") == []


def test_cr0801_secret_of_the_tenant_object_is_not_its_id() -> None:
    source = """
    import os
    from cryptography.fernet import Fernet
    F = Fernet(os.environ["K"])

    def rotate(account):
        account.blob = F.encrypt(account.api_secret.encode())
    """
    assert lines(source, "CR0801") == [7]


def test_cr0801_message_names_key_and_tenant() -> None:
    (finding,) = run(dedent(MULTIFERNET), "CR0801")
    assert "org_id in scope" in finding.message
    assert "settings.KEY_NEW" in finding.message
    assert finding.column == 12


# -- CR0802 aead-without-associated-data --------------------------------------------------

KEYWORD_NONE = """
    import os
    from cryptography.hazmat.primitives.ciphers.aead import AESOCB3

    def seal(user, data, key):
        nonce = os.urandom(12)
        return nonce + AESOCB3(key).encrypt(nonce, data, associated_data=None)
"""

MODULE_EMPTY_AAD = """
    import os
    from cryptography.hazmat.primitives.ciphers import aead

    EMPTY = b""

    def seal(key, data):
        doc_id = data["id"]
        nonce = os.urandom(12)
        return nonce + aead.AESGCM(key).encrypt(nonce, data["body"], EMPTY)
"""

DOME_CHACHA = """
    from Cryptodome.Cipher import ChaCha20_Poly1305

    def seal(key, account_id, data):
        cipher = ChaCha20_Poly1305.new(key=key)
        ct, tag = cipher.encrypt_and_digest(data)
        return cipher.nonce + tag + ct
"""

NACL_BINDINGS = """
    import os
    from nacl import bindings

    def seal(key, user_id, data):
        nonce = os.urandom(24)
        return bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(data, None, nonce, key)
"""


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        (KEYWORD_NONE, 7, 70),
        (MODULE_EMPTY_AAD, 10, 66),
        (DOME_CHACHA, 6, 15),
        (NACL_BINDINGS, 7, 70),
    ],
)
def test_cr0802_flags(source: str, line: int, column: int) -> None:
    assert [(f.line, f.column) for f in run(dedent(source), "CR0802")] == [(line, column)]


CR0802_QUIET = [
    # Only a key id and a request id in scope: nothing identifies the record.
    """
    import os
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    def seal(key, key_id, request_id, data):
        nonce = os.urandom(12)
        return nonce + AESGCM(key).encrypt(nonce, data, None)
    """,
    # Associated data chosen at every call site of the helper.
    """
    import os
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    def seal(key, user_id, data, aad=None):
        nonce = os.urandom(12)
        return nonce + AESGCM(key).encrypt(nonce, data, aad)

    def save(key, user_id, data):
        return seal(key, user_id, data, aad=str(user_id).encode())
    """,
    # PyCryptodome non-AEAD mode: no associated data to give.
    """
    from Crypto.Cipher import AES

    def seal(key, user_id, data):
        return AES.new(key, AES.MODE_CTR).encrypt(data)
    """,
    # A reset token whose plaintext is the user id: it says whose it is.
    """
    import os
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    def reset_token(key, user_id, expires):
        nonce = os.urandom(12)
        return nonce + AESGCM(key).encrypt(nonce, f"{user_id}:{expires}".encode(), None)
    """,
    # Non-empty constant label is not "none" (binding is CR0801's concern).
    """
    import os
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    def seal(key, user_id, data):
        nonce = os.urandom(12)
        return nonce + ChaCha20Poly1305(key).encrypt(nonce, data, f"user:{user_id}".encode())
    """,
    # The plaintext is a token built around the id (a dataclass, json, a helper).
    """
    import json, os
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    def invite(key, org_id, email):
        nonce = os.urandom(12)
        token = json.dumps(Invite(org_id=org_id, email=email).as_dict()).encode()
        return nonce + AESGCM(key).encrypt(nonce, token, None)
    """,
    """
    import os
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    def _payload(user_id):
        return f"reset:{user_id}".encode()

    def reset_token(key, user_id):
        nonce = os.urandom(12)
        return nonce + AESGCM(key).encrypt(nonce, _payload(user_id), None)
    """,
]


@pytest.mark.parametrize("source", CR0802_QUIET)
def test_cr0802_quiet(source: str) -> None:
    assert lines(source, "CR0802") == []


def test_cr0802_message_names_the_owner() -> None:
    (finding,) = run(dedent(DOME_CHACHA), "CR0802")
    assert "account_id is in scope" in finding.message
    assert "ChaCha20_Poly1305 cipher never gets cipher.update(aad)" in finding.message


def test_cr0802_associated_data_left_to_callers_elsewhere() -> None:
    helper = """
    import os
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    def seal(key, user_id, data, aad=None):
        nonce = os.urandom(12)
        return nonce + AESGCM(key).encrypt(nonce, data, aad)
    """
    assert lines(helper, "CR0802") == []
    called_without = (
        helper
        + """
    def save(key, user_id, data):
        return seal(key, user_id, data)
    """
    )
    assert lines(called_without, "CR0802") == [7]


def test_cr0802_data_looked_up_by_the_id_does_not_carry_it() -> None:
    # A per-tenant key, but the plaintext is the tenant's data, fetched by its id: the
    # id is not inside it, so nothing binds the blob to where it is stored.
    source = """
    import json, os
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from app.kms import tenant_key
    from app.usage import usage_for

    def archive(tenant_id, store):
        report = json.dumps(usage_for(tenant_id)).encode()
        nonce = os.urandom(12)
        store.put(tenant_id, nonce + AESGCM(tenant_key(tenant_id)).encrypt(nonce, report, None))
    """
    assert lines(source, "CR0802") == [10]
    carried = source.replace("json.dumps(usage_for(tenant_id))", "json.dumps([tenant_id, 1])")
    assert lines(carried, "CR0802") == []
    encoded = source.replace("json.dumps(usage_for(tenant_id)).encode()", "tenant_id.encode()")
    assert lines(encoded, "CR0802") == []
    secret = source.replace("usage_for(tenant_id)", "tenant_id.secret")
    assert lines(secret, "CR0802") == [10]
