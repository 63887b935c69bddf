"""`collect()`: what this process's crypto runtime actually is.

The `cryptography` wheel bundles its own OpenSSL, which is not the interpreter's `ssl`
module's; the system's FIPS configuration does not reach it; one region's image is older
than another's. These facts are cheap to read (a few milliseconds: version calls, one
small encryption per algorithm probe, two file hashes) and never include secrets: key
material, tokens and environment variables are not read.
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptorails import canonical

if TYPE_CHECKING:
    from cryptorails.keys import Keyring
    from cryptorails.overrides import Overrides

__all__ = ["PACKAGES", "RuntimeFacts", "collect", "fingerprint"]

# Packages whose version changes how a service does cryptography or TLS.
PACKAGES = (
    "cryptography",
    "certifi",
    "pyjwt",
    "jwcrypto",
    "authlib",
    "joserfc",
    "python-jose",
    "pyopenssl",
    "pycryptodome",
    "pycryptodomex",
    "pynacl",
    "itsdangerous",
    "requests",
    "urllib3",
    "httpx",
    "aiohttp",
    "grpcio",
    "redis",
    "psycopg",
    "psycopg2",
    "boto3",
    "python-pkcs11",
    "cryptorails",
)

# Not part of the fingerprint and not security-relevant in a diff: they differ between
# any two hosts of one identical deployment.
VOLATILE = frozenset({"host", "collected_at", "fingerprint"})


@dataclass(frozen=True)
class RuntimeFacts:
    """A JSON-serializable record of the crypto runtime, with a stable fingerprint."""

    data: Mapping[str, Any] = field(repr=False)

    @property
    def fingerprint(self) -> str:
        return str(self.data["fingerprint"])

    def to_json(self) -> dict[str, Any]:
        return dict(self.data)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


def fingerprint(facts: Mapping[str, Any]) -> str:
    """SHA-256 over the RFC 8785 form of the non-volatile facts (first 32 hex digits)."""
    stable = {k: v for k, v in facts.items() if k not in VOLATILE}
    return hashlib.sha256(canonical.dumps(stable)).hexdigest()[:32]


def collect(
    *,
    keyring: Keyring | None = None,
    environment: str | None = None,
    overrides: Overrides | Iterable[str] = (),
    now: Callable[[], datetime] | None = None,
) -> RuntimeFacts:
    """Collect the runtime facts of this process.

    Args:
        keyring: the service's keyring; its environment is recorded (and is what a
            policy is chosen by), because it comes from the keystore, not from a flag.
        environment: the environment, when no keyring is given.
        overrides: the service's `Overrides` (or the names of active overrides).
        now: clock for `collected_at` (default: the system clock).
    """
    from cryptography.hazmat.backends.openssl import backend

    if keyring is not None:
        environment = keyring.environment
    from cryptorails.overrides import Overrides

    if isinstance(overrides, Overrides):
        overrides = [o.what for o in overrides.list()]

    bundled = backend.openssl_version_text()
    data: dict[str, Any] = {
        "host": socket.gethostname(),
        "collected_at": (now() if now else datetime.now(UTC)).isoformat(timespec="seconds"),
        "environment": environment,
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "build": " ".join(platform.python_build()),
            "compiler": platform.python_compiler(),
        },
        "platform": {
            "system": platform.system(),
            "machine": platform.machine(),
            "libc": " ".join(platform.libc_ver()).strip() or None,
        },
        "cryptography": {
            "version": _version("cryptography"),
            "openssl": bundled,
            "openssl_number": backend.openssl_version_number(),
            "fips": _cryptography_fips(backend),
            "legacy_provider": _legacy_provider(),
        },
        "ssl_module": {
            "openssl": ssl.OPENSSL_VERSION,
            "openssl_number": ssl.OPENSSL_VERSION_NUMBER,
            "hashlib_fips": _hashlib_fips(),
        },
        "openssl_differs": _openssl_name(bundled) != _openssl_name(ssl.OPENSSL_VERSION),
        "algorithms": _probe(),
        "ca": {
            "certifi": _version("certifi"),
            "certifi_bundle": _certifi_bundle_hash(),
            "system_store": _system_store_hash(),
        },
        "packages": {name: v for name in PACKAGES if (v := _version(name)) is not None},
        "overrides": sorted(set(overrides)),
    }
    data["fingerprint"] = fingerprint(data)
    return RuntimeFacts(data)


def _openssl_name(text: str) -> str:
    # "OpenSSL 3.0.19 27 Jan 2026" → "OpenSSL 3.0.19": build dates are not versions.
    return " ".join(text.split()[:2])


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cryptography_fips(backend: Any) -> bool | None:
    value = getattr(backend, "_fips_enabled", None)
    return bool(value) if value is not None else None


def _legacy_provider() -> bool | None:
    # Only a private attribute tells; None (unknown) when a future version drops it.
    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl
    except ImportError:
        return None
    value = getattr(rust_openssl, "_legacy_provider_loaded", None)
    return bool(value) if value is not None else None


def _hashlib_fips() -> bool | None:
    try:
        import _hashlib

        return bool(_hashlib.get_fips_mode())
    except (ImportError, AttributeError, ValueError):
        return None


def _probe() -> dict[str, bool]:
    """Which algorithms work here, by doing one operation each (not by version)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, x25519
    from cryptography.hazmat.primitives.ciphers import aead

    key = bytes(32)
    nonce = bytes(12)
    probes: dict[str, Callable[[], object]] = {
        "AES-256-GCM": lambda: aead.AESGCM(key).encrypt(nonce, b"", None),
        "AES-256-GCM-SIV": lambda: aead.AESGCMSIV(key).encrypt(nonce, b"", None),
        "AES-256-OCB3": lambda: aead.AESOCB3(key).encrypt(nonce, b"", None),
        "AES-SIV": lambda: aead.AESSIV(bytes(64)).encrypt(b"", None),
        "ChaCha20-Poly1305": lambda: aead.ChaCha20Poly1305(key).encrypt(nonce, b"", None),
        "XAES-256-GCM": _xaes_probe,
        "Ed25519": lambda: ed25519.Ed25519PrivateKey.generate().sign(b""),
        "Ed448": lambda: ed448.Ed448PrivateKey.generate().sign(b""),
        "X25519": lambda: x25519.X25519PrivateKey.generate().public_key(),
        "ECDSA-P256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ECDSA-P384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "ECDSA-secp256k1": lambda: ec.generate_private_key(ec.SECP256K1()),
    }
    out: dict[str, bool] = {}
    for name, probe in probes.items():
        try:
            probe()
            out[name] = True
        except Exception:  # UnsupportedAlgorithm, InternalError, FIPS refusals alike
            out[name] = False
    return out


def _xaes_probe() -> object:
    from cryptorails.hazmat import xaes256gcm_encrypt

    return xaes256gcm_encrypt(bytes(32), bytes(24), b"", b"")


def _certifi_bundle_hash() -> str | None:
    try:
        import certifi
    except ImportError:
        return None
    return _file_hash(Path(certifi.where()))


def _system_store_hash() -> str | None:
    paths = ssl.get_default_verify_paths()
    cafile = os.environ.get(paths.openssl_cafile_env) or paths.cafile or paths.openssl_cafile
    if cafile and Path(cafile).is_file():
        return _file_hash(Path(cafile))
    capath = os.environ.get(paths.openssl_capath_env) or paths.capath
    if capath and Path(capath).is_dir():
        names = sorted(p.name for p in Path(capath).iterdir())
        return "names:" + hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    return None


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return None
