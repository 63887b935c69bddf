"""The CBOM is valid CycloneDX 1.6 and lists algorithms, keys with states, libraries."""

from __future__ import annotations

import json

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from cryptorails import Context
from cryptorails.keys import KeyState
from cryptorails.runtime import cbom_json, collect
from cryptorails.testing import keyring


def validate(text: str) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, str(error)


def test_without_a_keystore_every_offered_algorithm_is_listed() -> None:
    text = cbom_json(collect())
    validate(text)
    doc = json.loads(text)
    assert doc["specVersion"] == "1.6"
    names = {c["name"] for c in doc["components"] if c["type"] == "cryptographic-asset"}
    assert {"XAES-256-GCM", "AES-256-GCM-SIV", "EdDSA", "ES256"} <= names


def test_keys_appear_with_nist_states_and_no_material() -> None:
    kr = keyring("prod")
    ctx = Context("acme", "records")
    first = kr.keyset(ctx).primary.kid
    second = kr.rotate(ctx)
    third = kr.rotate(ctx)
    kr.set_state(ctx, second, KeyState.DISABLED)
    kr.set_state(ctx, first, KeyState.DISABLED)
    kr.set_state(ctx, first, KeyState.DESTROYED)
    text = cbom_json(collect(keyring=kr), kr)
    validate(text)
    doc = json.loads(text)
    material = [
        c["cryptoProperties"]["relatedCryptoMaterialProperties"]
        for c in doc["components"]
        if c.get("cryptoProperties", {}).get("assetType") == "related-crypto-material"
    ]
    states = {m["id"]: m["state"] for m in material}
    assert states == {
        f"prod/acme/records/{first:#010x}": "destroyed",
        f"prod/acme/records/{second:#010x}": "suspended",
        f"prod/acme/records/{third:#010x}": "active",
    }
    algorithms = [
        c["name"]
        for c in doc["components"]
        if c.get("cryptoProperties", {}).get("assetType") == "algorithm"
    ]
    assert algorithms == ["XAES-256-GCM"]
    (key,) = [k for k in kr.keyset(ctx).keys if k.kid == third]
    assert key.material is not None
    assert key.material.reveal().hex() not in text
    libraries = {c["bom-ref"]: c for c in doc["components"] if c["type"] == "library"}
    bundled = libraries["library/cryptography"]["components"][0]
    assert bundled["name"] == "openssl"
