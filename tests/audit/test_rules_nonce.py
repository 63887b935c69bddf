"""Nonce and randomness rules (CR0102-CR0104): shapes the fixtures do not show, and the
traps that must stay quiet."""

from __future__ import annotations

from textwrap import dedent

import pytest

from .conftest import run


def lines(source: str, code: str) -> list[int]:
    return [f.line for f in run(dedent(source), code)]


# -- CR0102 nonce-from-counter ----------------------------------------------------------

COUNTER_HELPER_CLASS = """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    class NonceSource:
        def __init__(self):
            self.value = 0

        def next_nonce(self):
            self.value += 1
            return self.value.to_bytes(12, "big")

    class Box:
        def __init__(self, key):
            self.aead = AESGCM(key)
            self.nonces = NonceSource()

        def seal(self, data):
            nonce = self.nonces.next_nonce()
            return nonce + self.aead.encrypt(nonce, data, None)
"""

COUNTER_ASSIGN_INCREMENT = """
    import os
    from nacl.secret import SecretBox

    KEY = os.environ["BOX_KEY"].encode()
    sent = 0

    def send(message):
        global sent
        sent = sent + 1
        return SecretBox(KEY).encrypt(message, sent.to_bytes(24, "big"))
"""


@pytest.mark.parametrize(
    ("source", "expected"),
    [(COUNTER_HELPER_CLASS, [19]), (COUNTER_ASSIGN_INCREMENT, [11])],
    ids=["method-of-helper-class", "x-equals-x-plus-one"],
)
def test_counter_nonces_are_found(source: str, expected: list[int]) -> None:
    assert lines(source, "CR0102") == expected


def test_counter_message_names_the_counter_and_its_lifetime() -> None:
    [finding] = run(dedent(COUNTER_ASSIGN_INCREMENT), "CR0102")
    assert finding.message == (
        "nonce comes from an in-memory counter (`sent`); it starts over when the process "
        "restarts and repeats across processes"
    )
    assert finding.severity == "high"
    assert finding.case == 1


SAFE_COUNTERS = """
    import os
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

    KEY = os.environ["KEY"].encode()
    retries = 0

    def seal(data, aad_counter):
        global retries
        retries += 1
        return AESGCM(KEY).encrypt(os.urandom(12), data, aad_counter.to_bytes(8, "big"))

    def handshake_session(shared_secret_generator):
        key = ChaCha20Poly1305.generate_key()
        aead = ChaCha20Poly1305(key)
        n = 0
        out = []
        for record in shared_secret_generator:
            out.append(aead.encrypt(n.to_bytes(12, "little"), record, None))
            n += 1
        return key, out

    def probe():
        n = 0
        n += 1
        return AESGCM(bytes(32)).encrypt(n.to_bytes(12, "big"), b"", None)
"""


def test_counter_traps_stay_quiet() -> None:
    assert lines(SAFE_COUNTERS, "CR0102") == []


def test_counter_is_not_also_reported_as_a_constant() -> None:
    source = """
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        n = 0

        def seal(key, data):
            global n
            n += 1
            return AESGCM(key).encrypt(n.to_bytes(12, "big"), data, None)
    """
    assert lines(source, "CR0102") == [9]
    assert lines(source, "CR0103") == []


# -- CR0103 constant-nonce --------------------------------------------------------------

PYCRYPTO_UPPERCASE_IV = """
    from Crypto.Cipher import DES3

    def encrypt(key, data):
        return DES3.new(key, DES3.MODE_CBC, IV=b"12345678").encrypt(data)
"""

ENV_IV = """
    import os
    from Crypto.Cipher import AES

    IV = os.environ.get("ENCRYPTION_IV", "0000000000000000").encode()

    def encrypt(key, data):
        return AES.new(key, AES.MODE_CBC, IV).encrypt(data)
"""

CLASS_ATTRIBUTE_IV = """
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    class FieldCipher:
        IV = b"fixed-iv-16bytes"

        def __init__(self, key):
            self.key = key

        def encrypt(self, value):
            mode = modes.CBC(self.IV)
            return Cipher(algorithms.AES(self.key), mode).encryptor().update(value)
"""


@pytest.mark.parametrize(
    ("source", "expected"),
    [(PYCRYPTO_UPPERCASE_IV, [5]), (ENV_IV, [8])],
    ids=["pycryptodome-IV-keyword", "iv-from-environment"],
)
def test_constant_nonces_are_found(source: str, expected: list[int]) -> None:
    assert lines(source, "CR0103") == expected


def test_env_iv_message_says_configuration() -> None:
    [finding] = run(dedent(ENV_IV), "CR0103")
    assert "read from configuration" in finding.message


def test_class_attribute_iv_is_found_as_constant() -> None:
    [finding] = run(dedent(CLASS_ATTRIBUTE_IV), "CR0103")
    assert finding.line == 11
    assert "constant" in finding.message


SAFE_CONSTANTS = """
    import os
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    from cryptography.hazmat.primitives import hashes

    NONCE_SIZE = 12

    def ecies(peer_public, data):
        ephemeral = X25519PrivateKey.generate()
        shared = ephemeral.exchange(peer_public)
        key = HKDF(hashes.SHA256(), 32, None, b"ecies").derive(shared)
        return ephemeral.public_key(), AESGCM(key).encrypt(b"\\x00" * NONCE_SIZE, data, None)

    def encrypt(key, data, nonce=None):
        nonce = nonce or os.urandom(NONCE_SIZE)
        return nonce + AESGCM(key).encrypt(nonce, data, None)

    def decrypt(key, blob):
        return AESGCM(key).decrypt(blob[:12], blob[12:], None)

    def placeholder(key, data):
        nonce = b""
        nonce = os.urandom(12)
        return AESGCM(key).encrypt(nonce, data, None)
"""


def test_constant_traps_stay_quiet() -> None:
    assert lines(SAFE_CONSTANTS, "CR0103") == []


# -- CR0104 insecure-random-for-secrets -------------------------------------------------

RANDOM_SHAPES = """
    import random
    import string
    import uuid

    def new_reset_token():
        return uuid.UUID(int=random.getrandbits(128)).hex

    def oauth_start(session):
        oauth_state = "".join(random.choice(string.ascii_letters) for _ in range(16))
        session["oauth_state"] = oauth_state

    def sms_code():
        code = "".join(str(random.randint(0, 9)) for _ in range(6))
        return code

    def api_credentials():
        rng = random.Random()
        return {"client_id": "app", "client_secret": "%x" % rng.getrandbits(160)}

    def set_initial_password(user):
        user.set_password("".join(random.sample(string.ascii_letters, 12)))
"""


def test_random_secret_shapes_are_found() -> None:
    assert lines(RANDOM_SHAPES, "CR0104") == [7, 10, 14, 19, 22]


def test_random_message_says_where_the_value_goes() -> None:
    found = run(dedent(RANDOM_SHAPES), "CR0104")
    assert found[0].message == (
        "`random.getrandbits` is not a cryptographic generator, and its output becomes "
        "the return value of new_reset_token()"
    )
    assert found[3].message.endswith('becomes the "client_secret" field')


SAFE_RANDOM = """
    import random
    import string

    def guessing_game():
        secret_number = random.randint(1, 100)
        return secret_number

    def hash_settings():
        salt_rounds = random.randint(10, 12)
        return salt_rounds

    def temp_file_name():
        filename = "".join(random.choices(string.ascii_lowercase, k=8)) + ".tmp"
        return filename

    def fake_user():
        password = "".join(random.choices(string.ascii_letters, k=10))
        return {"password": password}

    def pick_token(pool):
        token = random.choice(pool)
        return token

    def load_balance(settings):
        return {"api_key": random.choice(settings.API_KEYS)}

    def jitter(base):
        return base * (1 + random.uniform(-0.1, 0.1))

    def choose_key_id(keyset):
        key_id = random.randint(1, 2**31)
        return key_id

    class TestTokens:
        def test_roundtrip(self):
            token = "".join(random.choices(string.hexdigits, k=32))
            assert token
"""


def test_random_traps_stay_quiet() -> None:
    assert lines(SAFE_RANDOM, "CR0104") == []


def test_random_prefilter_skips_files_without_random() -> None:
    assert run("token = 'x'\n", "CR0104") == []
