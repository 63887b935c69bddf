"""KnownMaterial: exact key material found again in every encoding it registers."""

from __future__ import annotations

import base64
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from cryptorails import Context, Keyring, LocalKek
from cryptorails.algorithms import Algorithm, load_private_key
from cryptorails.keys import KeyState
from cryptorails.redact._detectors import Found
from cryptorails.redact._known import KnownMaterial
from cryptorails.secret import Secret

ENCODINGS: dict[str, Callable[[bytes], bytes]] = {
    "raw": lambda k: k,
    "hex": lambda k: k.hex().encode(),
    "HEX": lambda k: k.hex().upper().encode(),
    "base64": base64.b64encode,
    "base64-unpadded": lambda k: base64.b64encode(k).rstrip(b"="),
    "base64url": base64.urlsafe_b64encode,
    "base64url-unpadded": lambda k: base64.urlsafe_b64encode(k).rstrip(b"="),
}


def one(known: KnownMaterial, data: bytes) -> bytes:
    """The single occurrence `known` finds in `data`."""
    found = known.find(data)
    assert len(found) == 1, found
    assert found[0].kind == "known-key"
    return data[found[0].start : found[0].end]


@pytest.fixture
def key() -> bytes:
    # 31 bytes: not a multiple of 3, so base64 padding and alignment both matter.
    return os.urandom(31)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_encoding_is_found_exactly(key: bytes, encoding: str) -> None:
    known = KnownMaterial()
    known.add(key)
    encoded = ENCODINGS[encoding](key)
    assert one(known, b"log line: " + encoded + b" end") == encoded


@pytest.mark.parametrize("shift", [0, 1, 2])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_material_inside_a_longer_base64_blob(
    key: bytes, shift: int, encode: Callable[[bytes], bytes]
) -> None:
    known = KnownMaterial()
    known.add(key)
    blob = encode(os.urandom(shift) + key + os.urandom(7))
    found = known.find(b'{"blob": "' + blob + b'"}')
    assert len(found) == 1
    assert found[0].end - found[0].start >= 36  # most of the encoded key, not noise


def test_str_input_gives_str_offsets(key: bytes) -> None:
    known = KnownMaterial()
    known.add(key)
    text = "clé «" + key.hex() + "» ✓"
    (f,) = known.find(text)
    assert text[f.start : f.end] == key.hex()


def test_nothing_found_in_unrelated_data(key: bytes) -> None:
    known = KnownMaterial()
    known.add(key)
    assert known.find(os.urandom(100_000)) == []
    assert known.find(b"") == []
    assert known.find("") == []
    assert KnownMaterial().find(key) == []


def test_short_material_is_ignored() -> None:
    known = KnownMaterial()
    known.add(b"0123456789abcde")  # 15 bytes
    assert len(known) == 0
    assert known.find(b"xx 0123456789abcde xx") == []


def test_add_checks_type_and_accepts_secret(key: bytes) -> None:
    known = KnownMaterial()
    with pytest.raises(TypeError, match="material must be bytes, not str"):
        known.add("text")  # type: ignore[arg-type]
    known.add(Secret(key))
    known.add(bytearray(key))  # the same material again
    assert len(known) == 1
    assert one(known, key.hex().encode()) == key.hex().encode()


def test_repr_shows_counts_only_and_pickling_is_refused(key: bytes) -> None:
    known = KnownMaterial()
    known.add(key)
    text = repr(known)
    assert text.startswith("KnownMaterial(materials=1, needles=")
    for form in ENCODINGS.values():
        assert form(key).decode("latin-1") not in text
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(known)


def test_clear_forgets_everything(key: bytes) -> None:
    known = KnownMaterial()
    known.add(key)
    known.clear()
    assert len(known) == 0
    assert known.find(key) == []


def _forms(private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> list[bytes]:
    forms = []
    for fmt in (ser.PrivateFormat.PKCS8, ser.PrivateFormat.TraditionalOpenSSL):
        for enc in (ser.Encoding.PEM, ser.Encoding.DER):
            try:
                forms.append(private.private_bytes(enc, fmt, ser.NoEncryption()))
            except ValueError:
                continue
    return forms


@pytest.mark.parametrize(
    "make", [ed25519.Ed25519PrivateKey.generate, lambda: ec.generate_private_key(ec.SECP256R1())]
)
def test_a_pem_private_key_is_found_as_pem_and_der(
    make: Callable[[], ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey],
) -> None:
    private = make()
    forms = _forms(private)
    known = KnownMaterial()
    known.add(forms[0])  # the PKCS#8 PEM
    for form in forms:
        assert one(known, b"\x00\x01dump\x00" + form + b"\x00") == form
    pem = forms[0]
    escaped = json.dumps({"private_key": pem.decode()}).encode()
    assert one(known, escaped) == pem.replace(b"\n", b"\\n")


# -- from a real file keystore ----------------------------------------------------------

ORDERS = Context("acme", "orders")
TOKENS = Context("acme", "tokens")
OTHER = Context("globex", "sessions")


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    kek = LocalKek.generate(tmp_path / "ks.kek")
    ring = Keyring.open(tmp_path / "ks", kek=kek, environment="prod", create=True)
    ring.keyset(ORDERS)
    ring.rotate(ORDERS)  # two AEAD keys: the old primary stays active
    ring.keyset(TOKENS, algorithm=Algorithm.ED25519)
    ring.keyset(OTHER, algorithm=Algorithm.ES256)
    ring.keyset(Context("globex", "hmac"), algorithm=Algorithm.HS256)
    return ring


def _materials(ring: Keyring) -> list[tuple[Algorithm, bytes]]:
    out = []
    for ctx in ring.contexts():
        for k in ring.find_keyset(ctx) or ():
            if k.material is not None:
                out.append((k.algorithm, k.material.reveal()))
    return out


def test_from_keyring_finds_every_key_of_every_keyset(keyring: Keyring) -> None:
    materials = _materials(keyring)
    assert len(materials) == 5
    known = KnownMaterial.from_keyring(keyring)
    assert len(known) == 5 + 2  # and the two signing keys as private-key objects
    for algorithm, material in materials:
        for encoding, encode in ENCODINGS.items():
            data = b"prefix " + encode(material) + b" suffix"
            assert one(known, data) == encode(material), (algorithm, encoding)
        if algorithm in (Algorithm.ED25519, Algorithm.ES256):
            for form in _forms(load_private_key(algorithm, material)):
                assert one(known, b"~" + form + b"~") == form, algorithm


def test_from_keyring_reopened_from_disk(keyring: Keyring, tmp_path: Path) -> None:
    reopened = Keyring.open(
        tmp_path / "ks", kek=LocalKek.from_file(tmp_path / "ks.kek"), environment="prod"
    )
    known = KnownMaterial.from_keyring(reopened)
    (_, material), *_ = _materials(keyring)
    assert known.find(b"x" + base64.b64encode(material)) == [
        Found("known-key", 1, 1 + len(base64.b64encode(material)))
    ]


def test_destroyed_keys_have_no_material_to_find(keyring: Keyring) -> None:
    old = next(k for k in keyring.keyset(ORDERS) if k.state is KeyState.ACTIVE)
    assert old.material is not None
    material = old.material.reveal()
    keyring.set_state(ORDERS, old.kid, KeyState.DISABLED)
    keyring.set_state(ORDERS, old.kid, KeyState.DESTROYED)
    known = KnownMaterial.from_keyring(keyring)
    assert len(known) == 4 + 2
    assert known.find(material.hex().encode()) == []
