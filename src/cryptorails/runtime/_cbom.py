"""A CycloneDX 1.6 cryptographic bill of materials (CBOM) of this runtime.

It lists the algorithms in use (those of the keystore's keys, or every algorithm
cryptorails offers when no keystore is given), the keys themselves as related crypto
material with their state, and the libraries doing the work with the OpenSSL each one
uses. Key material is never included: a key appears by keyset and key id only.

Key states follow NIST SP 800-57 Part 1 §7 as CycloneDX names them: a primary key is
*active*; a decrypt-only key is *deactivated* (it may still process protected data but
not apply protection); a disabled key is *suspended*; pre-activation, compromised and
destroyed keys keep their names (`KeyState.nist`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.bom_ref import BomRef
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.crypto import (
    AlgorithmProperties,
    CryptoAssetType,
    CryptoExecutionEnvironment,
    CryptoFunction,
    CryptoMode,
    CryptoPrimitive,
    CryptoProperties,
    RelatedCryptoMaterialProperties,
    RelatedCryptoMaterialState,
    RelatedCryptoMaterialType,
)
from cyclonedx.output.json import JsonV1Dot6

from cryptorails.algorithms import Algorithm, KeyKind
from cryptorails.keys import KeyState
from cryptorails.runtime._facts import RuntimeFacts

if TYPE_CHECKING:
    from cryptorails.keys import Keyring

__all__ = ["STATES", "cbom_json"]

STATES = {state: RelatedCryptoMaterialState(state.nist) for state in KeyState}

_ENCRYPT = (CryptoFunction.ENCRYPT, CryptoFunction.DECRYPT, CryptoFunction.KEYGEN)
_SIGN = (CryptoFunction.SIGN, CryptoFunction.VERIFY, CryptoFunction.KEYGEN)
# algorithm → (primitive, mode, parameter set, curve, classical security bits)
_PROPERTIES: dict[Algorithm, tuple[CryptoPrimitive, CryptoMode | None, str, str | None, int]] = {
    Algorithm.XAES_256_GCM: (CryptoPrimitive.AE, CryptoMode.GCM, "256", None, 256),
    Algorithm.AES_256_GCM_SIV: (CryptoPrimitive.AE, CryptoMode.OTHER, "256", None, 256),
    Algorithm.AES_256_GCM: (CryptoPrimitive.AE, CryptoMode.GCM, "256", None, 256),
    Algorithm.ED25519: (CryptoPrimitive.SIGNATURE, None, "255", "Curve25519", 128),
    Algorithm.ES256: (CryptoPrimitive.SIGNATURE, None, "256", "P-256", 128),
    Algorithm.HS256: (CryptoPrimitive.MAC, None, "256", None, 256),
    Algorithm.RS256: (CryptoPrimitive.SIGNATURE, None, "2048", None, 112),
    Algorithm.PS256: (CryptoPrimitive.SIGNATURE, None, "2048", None, 112),
}


def _algorithm_component(algorithm: Algorithm, machine: str) -> Component:
    primitive, mode, parameters, curve, bits = _PROPERTIES[algorithm]
    functions = _ENCRYPT if algorithm.kind is KeyKind.AEAD else _SIGN
    if primitive is CryptoPrimitive.MAC:
        functions = (CryptoFunction.TAG, CryptoFunction.VERIFY, CryptoFunction.KEYGEN)
    return Component(
        name=algorithm.value,
        type=ComponentType.CRYPTOGRAPHIC_ASSET,
        bom_ref=f"crypto/algorithm/{algorithm.value}",
        crypto_properties=CryptoProperties(
            asset_type=CryptoAssetType.ALGORITHM,
            algorithm_properties=AlgorithmProperties(
                primitive=primitive,
                mode=mode,
                parameter_set_identifier=parameters,
                curve=curve,
                execution_environment=CryptoExecutionEnvironment.SOFTWARE_PLAIN_RAM,
                crypto_functions=functions,
                classical_security_level=bits,
            ),
        ),
        properties=[Property(name="cryptorails:platform", value=machine)],
    )


def _key_components(keyring: Keyring) -> tuple[list[Component], set[Algorithm]]:
    components: list[Component] = []
    used: set[Algorithm] = set()
    for ctx in keyring.contexts():
        keyset = keyring.find_keyset(ctx)
        if keyset is None:
            continue
        for key in keyset.keys:
            used.add(key.algorithm)
            ident = f"{keyring.environment}/{ctx.tenant}/{ctx.purpose}/{key.kid:#010x}"
            kind = (
                RelatedCryptoMaterialType.SECRET_KEY
                if key.algorithm.kind is not KeyKind.SIGNATURE
                else RelatedCryptoMaterialType.PRIVATE_KEY
            )
            components.append(
                Component(
                    name=f"key {ident}",
                    type=ComponentType.CRYPTOGRAPHIC_ASSET,
                    bom_ref=f"crypto/key/{ident}",
                    crypto_properties=CryptoProperties(
                        asset_type=CryptoAssetType.RELATED_CRYPTO_MATERIAL,
                        related_crypto_material_properties=RelatedCryptoMaterialProperties(
                            type=kind,
                            id=ident,
                            state=STATES[key.state],
                            creation_date=key.created_at,
                            expiration_date=key.not_after,
                            algorithm_ref=BomRef(f"crypto/algorithm/{key.algorithm.value}"),
                        ),
                    ),
                )
            )
    return components, used


def _library_components(facts: RuntimeFacts) -> list[Component]:
    data = facts.to_json()
    crypto = data["cryptography"]
    return [
        Component(
            name="cryptography",
            version=crypto["version"],
            bom_ref="library/cryptography",
            type=ComponentType.LIBRARY,
            components=[
                Component(
                    name="openssl",
                    version=" ".join(crypto["openssl"].split()[1:2]),
                    bom_ref="library/cryptography/openssl",
                    type=ComponentType.LIBRARY,
                    description=f"bundled in the cryptography wheel: {crypto['openssl']}",
                    properties=[
                        Property(name="cryptorails:fips", value=str(crypto["fips"]).lower()),
                        Property(
                            name="cryptorails:legacy_provider",
                            value=str(crypto["legacy_provider"]).lower(),
                        ),
                    ],
                )
            ],
        ),
        Component(
            name="openssl",
            version=" ".join(data["ssl_module"]["openssl"].split()[1:2]),
            bom_ref="library/python-ssl/openssl",
            type=ComponentType.LIBRARY,
            description=f"used by Python's ssl module: {data['ssl_module']['openssl']}",
        ),
        *(
            Component(name=name, version=version, bom_ref=f"library/{name}")
            for name, version in sorted(data["packages"].items())
            if name != "cryptography"
        ),
    ]


def cbom_json(facts: RuntimeFacts, keyring: Keyring | None = None) -> str:
    """The CBOM as CycloneDX 1.6 JSON text."""
    keys: list[Component] = []
    used: Iterable[Algorithm] = list(Algorithm)
    if keyring is not None:
        keys, used = _key_components(keyring)
    machine = str(facts.to_json()["platform"]["machine"])
    bom = Bom()
    bom.metadata.component = Component(
        name="cryptorails runtime", type=ComponentType.APPLICATION, bom_ref="runtime"
    )
    bom.metadata.properties.add(Property(name="cryptorails:fingerprint", value=facts.fingerprint))
    algorithms = [_algorithm_component(a, machine) for a in sorted(used, key=lambda a: a.value)]
    libraries = _library_components(facts)
    for component in (*algorithms, *keys, *libraries):
        bom.components.add(component)
    bom.register_dependency(bom.metadata.component, libraries)
    bom.register_dependency(libraries[0], algorithms)  # `cryptography` implements them
    return str(JsonV1Dot6(bom).output_as_string(indent=2))
