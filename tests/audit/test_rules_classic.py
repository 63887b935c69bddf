"""CR0710-CR0715: weak hashes for security, ECB, broken ciphers, short keys, weak
password-KDF parameters and constant salts."""

from __future__ import annotations

import pytest

from cryptorails.audit import all_rules, check_source

from .conftest import run


def where(source: str, code: str) -> list[tuple[int, int]]:
    return [(f.line, f.column) for f in run(source, code)]


# -- CR0710 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import hashlib\npw_hash = hashlib.md5(password.encode()).hexdigest()\n",
        "import hashlib as h\nstored = h.sha1(f'{salt}{user.password}'.encode()).hexdigest()\n",
        "import hashlib\nd = hashlib.new('MD5', passwd.encode())\n",
        "import hashlib\nd = hashlib.new('sha1', usedforsecurity=True)\nd.update(api_key)\n",
        "from Crypto.Hash import MD5\nh = MD5.new(data)\nsignature = h.hexdigest()\n",
        "from cryptography.hazmat.primitives import hashes\n"
        "sig = key.sign(data, padding.PKCS1v15(), hashes.MD5())\n",
        "import hashlib\nok = hashlib.sha1(body).hexdigest() == signature\n",
        "import hashlib, hmac\nok = hmac.compare_digest(hashlib.md5(body).hexdigest(), theirs)\n",
        "import hashlib\ndef make_csrf_token(session_id):\n"
        "    return hashlib.md5(session_id.encode()).hexdigest()\n",
    ],
)
def test_cr0710_security_uses(source: str) -> None:
    found = run(source, "CR0710")
    assert len(found) == 1
    assert found[0].rule == "CR0710"


@pytest.mark.parametrize(
    "source",
    [
        "import hashlib\netag = hashlib.md5(body).hexdigest()\n",
        "import hashlib\nh = hashlib.md5(body, usedforsecurity=False)\n",
        "import hashlib\ndef cache_key(password):\n    return hashlib.md5(b'k').hexdigest()\n",
        "import hashlib, hmac\nmac = hmac.new(key, msg, hashlib.md5).hexdigest()\n",
        "from cryptography.hazmat.primitives import hmac, hashes\n"
        "h = hmac.HMAC(key, hashes.SHA1())\n",
        "from cryptography.hazmat.primitives.asymmetric import padding\n"
        "from cryptography.hazmat.primitives import hashes\n"
        "p = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)\n",
        "import hashlib\nobject_id = hashlib.sha1(b'blob 3\\x00abc').hexdigest()\n",
        "import hashlib\ndef page_cache(next_page_token):\n"
        "    return hashlib.md5(next_page_token.encode()).hexdigest()\n",
        "import hashlib\nd = hashlib.sha256(password.encode()).hexdigest()\n",
        "import hashlib\nname = hashlib.new(algorithm, data)\n",
        "text = 'md5(password) is a bad idea'\n",
    ],
)
def test_cr0710_non_security_uses(source: str) -> None:
    assert run(source, "CR0710") == []


def test_cr0710_signature_through_variable() -> None:
    source = (
        "from Crypto.Hash import SHA1 as S\n"
        "from Crypto.Signature import pkcs1_15\n"
        "def verify(key, msg, sig):\n"
        "    digest = S.new(msg)\n"
        "    pkcs1_15.new(key).verify(digest, sig)\n"
    )
    found = run(source, "CR0710")
    assert [(f.line, f.column) for f in found] == [(4, 14)]
    assert found[0].message == "SHA-1 is the hash of a signature (verify): use SHA-256"


# -- CR0711 / CR0712 ----------------------------------------------------------------


def test_cr0711_mode_through_parameter_default_and_pycrypto_default() -> None:
    source = (
        "from Crypto.Cipher import AES\n"
        "def make(key, mode=AES.MODE_ECB):\n"
        "    return AES.new(key, mode)\n"
        "legacy = AES.new(key)\n"
    )
    assert where(source, "CR0711") == [(3, 25), (4, 10)]


@pytest.mark.parametrize(
    "source",
    [
        "from Cryptodome.Cipher import AES\nAES.new(key, AES.MODE_GCM)\n",
        "from Cryptodome.Cipher import AES\nAES.new(key)\n",  # PyCryptodome requires a mode
        "from cryptography.hazmat.primitives.ciphers import modes\nm = modes.CBC(iv)\n",
        "MODE = 'ECB'\n",
    ],
)
def test_cr0711_safe(source: str) -> None:
    assert run(source, "CR0711") == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "from cryptography.hazmat.primitives.ciphers.algorithms import Blowfish as B\nB(k)\n",
            "Blowfish: 64-bit blocks collide after a few tens of GB under one key (Sweet32)",
        ),
        (
            "from Cryptodome.Cipher import ARC2\nARC2.new(k, ARC2.MODE_CBC, iv)\n",
            "ARC2: related-key attacks and 64-bit blocks",
        ),
        (
            "import pyDes\npyDes.triple_des(k)\n",
            "triple_des: 64-bit blocks collide after a few tens of GB under one key (Sweet32); "
            "NIST disallows 3DES encryption after 2023",
        ),
        (
            "from cryptography.hazmat.decrepit.ciphers.algorithms import SEED\nSEED(k)\n",
            "SEED: a legacy cipher kept only for old protocols (cryptography's decrepit module)",
        ),
    ],
)
def test_cr0712_messages(source: str, message: str) -> None:
    found = run(source, "CR0712")
    assert [f.message for f in found] == [message]
    assert (found[0].line, found[0].column) == (2, 1)


# -- CR0713 -------------------------------------------------------------------------


@pytest.mark.parametrize(("bits", "reported"), [(1024, True), (2047, True), (2048, False)])
def test_cr0713_rsa_boundary(bits: int, reported: bool) -> None:
    source = (
        "from cryptography.hazmat.primitives.asymmetric import rsa\n"
        f"rsa.generate_private_key(public_exponent=65537, key_size={bits})\n"
    )
    assert bool(run(source, "CR0713")) is reported


def test_cr0713_size_through_arithmetic_and_parameter() -> None:
    source = (
        "from Crypto.PublicKey import RSA\n"
        "BASE = 512\n"
        "def make(bits):\n"
        "    return RSA.generate(bits)\n"
        "make(BASE * 2)\n"
        "make(4096)\n"
    )
    found = run(source, "CR0713")
    assert [(f.line, f.column) for f in found] == [(4, 25)]
    assert found[0].message == "RSA key of 1024 bits (from line 5): at least 2048 are needed"


def test_cr0713_curve_through_variable() -> None:
    source = (
        "from cryptography.hazmat.primitives.asymmetric import ec\n"
        "curve = ec.SECT163K1()\n"
        "ec.derive_private_key(12345, curve)\n"
    )
    assert where(source, "CR0713") == [(3, 30)]


# -- CR0714 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hash_name", "count", "reported"),
    [
        ("sha256", 599_999, True),
        ("sha256", 600_000, False),
        ("SHA-512", 209_999, True),
        ("sha512", 210_000, False),
        ("sha1", 1_299_999, True),
        ("sha1", 1_300_000, False),
    ],
)
def test_cr0714_owasp_thresholds(hash_name: str, count: int, reported: bool) -> None:
    source = f"import hashlib\nhashlib.pbkdf2_hmac({hash_name!r}, pw, salt, {count})\n"
    assert bool(run(source, "CR0714")) is reported


def test_cr0714_unknown_hash_uses_the_lowest_threshold() -> None:
    low = "import hashlib\nhashlib.pbkdf2_hmac(algo, pw, salt, 200_000)\n"
    high = "import hashlib\nhashlib.pbkdf2_hmac(algo, pw, salt, 300_000)\n"
    assert where(low, "CR0714") == [(2, 37)]
    assert run(high, "CR0714") == []


@pytest.mark.parametrize(
    ("n", "r", "p", "reported"),
    [
        ("2**14", 8, 1, False),
        ("2**13", 8, 1, True),
        ("2**13", 8, 2, False),
        ("1 << 14", 4, 1, True),
    ],
)
def test_cr0714_scrypt_cost(n: str, r: int, p: int, reported: bool) -> None:
    source = f"import hashlib\nhashlib.scrypt(pw, salt=salt, n={n}, r={r}, p={p})\n"
    assert bool(run(source, "CR0714")) is reported


def test_cr0714_iterations_from_settings_are_not_guessed() -> None:
    source = "import hashlib\nhashlib.pbkdf2_hmac('sha256', pw, salt, settings.ITERATIONS)\n"
    assert run(source, "CR0714") == []


# -- CR0715 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "salt",
    ["b'salt'", "'app'.encode()", "SALT", "b'x' * 16", "bytes.fromhex('00ff00ff')", "f'static'"],
)
def test_cr0715_constant_salts(salt: str) -> None:
    source = (
        f"import hashlib\nSALT = b'pepper'\nhashlib.pbkdf2_hmac('sha256', pw, {salt}, 600_000)\n"
    )
    assert where(source, "CR0715") == [(3, 35)]


@pytest.mark.parametrize(
    "salt",
    ["os.urandom(16)", "user.salt", "salt", "secrets.token_bytes(16)", "f'{user.id}'.encode()"],
)
def test_cr0715_per_user_salts(salt: str) -> None:
    source = f"import hashlib, os, secrets\nhashlib.pbkdf2_hmac('sha256', pw, {salt}, 600_000)\n"
    assert run(source, "CR0715") == []


def test_cr0715_hkdf_fixed_salt_is_allowed() -> None:
    source = (
        "from cryptography.hazmat.primitives.kdf.hkdf import HKDF\n"
        "from cryptography.hazmat.primitives import hashes\n"
        "HKDF(algorithm=hashes.SHA256(), length=32, salt=b'app/v1', info=b'enc')\n"
    )
    assert run(source, "CR0715") == []


def test_classic_rules_survive_odd_code() -> None:
    source = (
        "import hashlib, bcrypt\n"
        "from cryptography.hazmat.primitives.asymmetric import rsa, ec\n"
        "from Crypto.Cipher import AES, DES\n"
        "def g():\n"
        "    hashlib.md5(*parts)\n"
        "    hashlib.new(**opts)\n"
        "    hashlib.pbkdf2_hmac('sha256', pw, salt, 10**10**10)\n"
        "    hashlib.pbkdf2_hmac('sha256', pw, salt, x := -1)\n"
        "    hashlib.scrypt(pw, salt=salt, n=0, r=0, p=0)\n"
        "    rsa.generate_private_key(65537, key_size=lambda: 1)\n"
        "    ec.generate_private_key(curve=None)\n"
        "    AES.new(*args)\n"
        "    DES.new\n"
        "    bcrypt.gensalt(rounds='12')\n"
    )
    rules = all_rules()
    for code in ("CR0710", "CR0711", "CR0712", "CR0713", "CR0714", "CR0715"):
        result = check_source(source.encode(), "odd.py", [rules[code]])
        assert result.parsed, code
        assert result.warnings == [], code
    # 10**10**10 is not folded (it would hang), a walrus is not followed.
    assert run(source, "CR0714") == []


@pytest.mark.parametrize(
    ("arguments", "reported"),
    [
        ("", False),  # argon2-cffi defaults: 64 MiB, 3 passes
        ("time_cost=2, memory_cost=19456", False),
        ("time_cost=1, memory_cost=47104", False),
        ("time_cost=1, memory_cost=32768", True),
        ("time_cost=10, memory_cost=4096", True),  # below 7 MiB whatever the passes
    ],
)
def test_cr0714_argon2_parameters(arguments: str, reported: bool) -> None:
    source = f"from argon2 import PasswordHasher\nph = PasswordHasher({arguments})\n"
    assert bool(run(source, "CR0714")) is reported


def test_cr0715_constant_salt_in_a_plain_hash() -> None:
    source = (
        "import hashlib\n"
        "SITE_SALT = b'site-wide'\n"
        "def digest(password):\n"
        "    return hashlib.sha256(SITE_SALT + password).hexdigest()\n"
        "def other(password, user):\n"
        "    return hashlib.sha256(user.salt + password).hexdigest()\n"
    )
    found = run(source, "CR0715")
    assert [(f.line, f.column) for f in found] == [(4, 12)]
    assert found[0].message == (
        "password hashed with the constant salt b'site-wide': equal passwords collide"
    )
