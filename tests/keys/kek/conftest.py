"""Services for the HSM and KMS KEK tests: a real SoftHSM2 token and moto's KMS emulator.

Both are session-scoped. A missing service skips its tests, or fails them when
``CRYPTORAILS_REQUIRE_SERVICES=1`` (as CI sets), like Redis and PostgreSQL in
``tests/conftest.py``.

SoftHSM2 reads ``SOFTHSM2_CONF`` when the library is initialised, and python-pkcs11
initialises a library once per process (the first load): the `softhsm` fixture sets the
variable before anything loads the module, and keeps it for the whole session. Tokens
are made by ``softhsm2-util`` in a temporary directory.

moto's server mode is an emulator of the KMS API, not AWS: it runs as a subprocess on a
free loopback port, with dummy credentials, and the config and credential files pointed
away so that no real AWS account can ever be reached from the tests.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from cryptorails import Secret

SOFTHSM_MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",  # Debian, Ubuntu
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",  # Fedora, RHEL
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)
TOKEN = "cryptorails"
# A token that only the wrong-PIN test opens: login state is per process, so a token this
# process is already logged in to cannot show what the HSM says to a wrong PIN.
SPARE_TOKEN = "cryptorails-spare"
USER_PIN = "user-pin-for-tests"
SO_PIN = "so-pin-for-tests"
PINS = ("--pin", USER_PIN, "--so-pin", SO_PIN)


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CRYPTORAILS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (CRYPTORAILS_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@dataclass(frozen=True)
class SoftHsm:
    """The SoftHSM2 set-up: module path, configuration and two initialised tokens."""

    module: str
    conf: Path
    token: str = TOKEN
    spare_token: str = SPARE_TOKEN

    @staticmethod
    def pin() -> Secret:
        return Secret(USER_PIN.encode())


def find_softhsm_module() -> str | None:
    """The SoftHSM2 PKCS #11 module (CRYPTORAILS_TEST_SOFTHSM_MODULE, or a usual place)."""
    explicit = os.environ.get("CRYPTORAILS_TEST_SOFTHSM_MODULE")
    if explicit:
        return explicit if os.path.isfile(explicit) else None
    return next((path for path in SOFTHSM_MODULES if os.path.isfile(path)), None)


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """A SoftHSM2 with two fresh tokens, `TOKEN` and `SPARE_TOKEN` (user PIN `USER_PIN`)."""
    module = find_softhsm_module()
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        _unavailable("SoftHSM2 is not installed (apt-get install softhsm2)")
    if importlib.util.find_spec("pkcs11") is None:
        _unavailable("python-pkcs11 is not installed (pip install 'cryptorails[hsm]')")
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir(mode=0o700)
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(conf))
        for label in (TOKEN, SPARE_TOKEN):
            result = subprocess.run(
                [util, "--init-token", "--free", "--label", label, *PINS],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                pytest.fail(f"softhsm2-util --init-token failed: {result.stderr.strip()}")
        yield SoftHsm(module=module, conf=conf)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dead_endpoint() -> str:
    """A loopback URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass(frozen=True)
class Kms:
    """moto's KMS emulator (not AWS) on a loopback port."""

    endpoint: str
    region: str = "us-east-1"

    def client(self) -> Any:
        """A boto3 KMS client of the emulator (dummy credentials from the environment)."""
        import boto3

        return boto3.session.Session().client(
            "kms", region_name=self.region, endpoint_url=self.endpoint
        )

    def unique(self, name: str) -> str:
        """An alias name (``alias/<name>-<random>``) no other test uses."""
        return f"alias/{name}-{uuid.uuid4().hex[:12]}"

    def new_key(self, alias: str | None = None) -> str:
        """Create a key (and optionally an alias for it); returns its ARN."""
        client = self.client()
        meta = client.create_key(Description="cryptorails test key")["KeyMetadata"]
        if alias is not None:
            client.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        return str(meta["Arn"])


@pytest.fixture(scope="session")
def kms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kms]:
    """moto's KMS server mode on 127.0.0.1, with dummy credentials, for the session."""
    for module in ("boto3", "moto", "flask"):
        if importlib.util.find_spec(module) is None:
            _unavailable(f"{module} is not installed (pip install 'moto[server]' boto3)")
    base = tmp_path_factory.mktemp("moto")
    port = free_port()
    with pytest.MonkeyPatch.context() as mp:
        # Dummy values, and no config or credentials file: nothing can reach real AWS.
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_CONFIG_FILE", str(base / "no-config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(base / "no-credentials"))
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"):
            mp.delenv(name, raising=False)
        with (base / "moto.log").open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_listening(server, port, base / "moto.log")
            yield Kms(endpoint=f"http://127.0.0.1:{port}")
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_listening(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60  # a start-up wait, not an assertion about speed
    while time.monotonic() < deadline:
        if server.poll() is not None:
            _unavailable(f"moto server exited ({server.returncode}): {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    server.kill()
    _unavailable("moto server did not start listening within 60 s")


@dataclass(frozen=True)
class TenantKeksRun:
    """What `check_tenant_keks` made: acme's KEK (destroyed at the end), the same KEK
    fetched again, globex's KEK, and a blob acme wrapped under `aad`."""

    acme: Any
    again: Any
    globex: Any
    blob: bytes


def check_tenant_keks(tenant_keks: Any, aad: bytes) -> TenantKeksRun:
    """The `TenantKeks` contract every provider meets: create, find again, list, keep
    tenants apart, destroy. Provider-specific checks follow in each test."""
    from cryptorails import DecryptionError
    from cryptorails.keys.kek import TenantKeks

    assert isinstance(tenant_keks, TenantKeks)
    assert tenant_keks.tenants() == []
    assert tenant_keks.kek("acme", create=False) is None
    acme = tenant_keks.kek("acme", create=True)
    globex = tenant_keks.kek("globex corp/ü", create=True)
    assert acme is not None
    assert globex is not None
    assert tenant_keks.tenants() == ["acme", "globex corp/ü"]
    again = tenant_keks.kek("acme", create=True)
    assert again is not None
    assert again.kek_id == acme.kek_id
    assert acme.kek_id != globex.kek_id

    blob = acme.wrap(b"acme keyset", aad)
    assert again.unwrap(blob, aad) == b"acme keyset"
    with pytest.raises(DecryptionError):
        globex.unwrap(blob, aad)

    assert tenant_keks.destroy("acme") is True
    assert tenant_keks.destroy("acme") is False
    assert tenant_keks.tenants() == ["globex corp/ü"]
    assert tenant_keks.kek("acme", create=False) is None
    return TenantKeksRun(acme, again, globex, blob)
