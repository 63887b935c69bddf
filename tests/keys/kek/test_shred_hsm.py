"""Crypto-shredding with tenant KEKs in a real HSM (SoftHSM2), through the CLI.

With tenant KEKs in the HSM, shredding destroys the tenant's KEK inside the token. A
keystore folder restored from a copy taken before the shred then holds keyset files
that nothing can unwrap any more — even a keyring opened without the ledger.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from click.testing import CliRunner, Result

from cryptorails.cli import cli
from cryptorails.keys.kek._pkcs11 import Pkcs11Kek

from .conftest import SoftHsm


def _uri(softhsm: SoftHsm, obj: str) -> str:
    return (
        f"pkcs11:token={softhsm.token};object={obj}"
        f"?module-path={softhsm.module}&pin-source=env:TEST_HSM_PIN"
    )


def test_shred_with_hsm_tenant_keks_survives_a_restored_keystore(
    softhsm: SoftHsm, tmp_path: Path
) -> None:
    label = f"kek-{uuid.uuid4().hex[:8]}"
    Pkcs11Kek.generate(
        softhsm.module, token_label=softhsm.token, key_label=label, pin=softhsm.pin()
    ).close()
    ks, ledger = tmp_path / "ks", f"sqlite://{tmp_path / 'ledger.db'}"
    env = {
        "TEST_HSM_PIN": softhsm.pin().reveal().decode(),
        "CRYPTORAILS_KEK_FILE": _uri(softhsm, label),
        "CRYPTORAILS_TENANT_KEKS": _uri(softhsm, f"t{uuid.uuid4().hex[:8]}-"),
    }

    def run(*args: str | Path, stdin: bytes | None = None, ledger_env: bool = False) -> Result:
        extra = {"CRYPTORAILS_LEDGER": ledger} if ledger_env else {}
        result = CliRunner().invoke(cli, [str(a) for a in args], input=stdin, env=env | extra)
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return result

    init = run(
        "keys", "init", "--keystore", ks, "--environment", "prod",
        "--use-kek", env["CRYPTORAILS_KEK_FILE"],
        "--tenant-keks", env["CRYPTORAILS_TENANT_KEKS"], "--format", "json",
    )  # fmt: skip
    assert init.exit_code == 0, init.output
    assert json.loads(init.stdout)["kek_id"].startswith("pkcs11:")
    assert not Path(f"{ks}.kek").exists()  # no KEK file: the KEK lives in the token

    blobs = {}
    for tenant in ("tenant-a", "tenant-b"):
        sealed = run("seal", "--keystore", ks, "--tenant", tenant, "--purpose", "email",
                     stdin=tenant.encode())  # fmt: skip
        assert sealed.exit_code == 0, sealed.output
        blobs[tenant] = sealed.stdout_bytes
    shutil.copytree(ks, tmp_path / "before")

    shred = run("keys", "shred", "--keystore", ks, "--tenant", "tenant-a", "--yes",
                "--format", "json", ledger_env=True)  # fmt: skip
    assert shred.exit_code == 0, shred.output
    assert json.loads(shred.stdout)["tenant_kek_destroyed"] is True

    shutil.rmtree(ks)
    shutil.copytree(tmp_path / "before", ks)
    # Even without the ledger: the tenant's KEK no longer exists in the HSM.
    opened = run("open", "--keystore", ks, "--tenant", "tenant-a", "--purpose", "email",
                 stdin=blobs["tenant-a"])  # fmt: skip
    assert opened.exit_code == 2
    assert "the KEK of tenant tenant-a is gone" in opened.stderr
    assert b"tenant-a" not in opened.stdout_bytes
    # With the ledger, the ordinary opaque failure plus the operator's note.
    guarded = run("open", "--keystore", ks, "--tenant", "tenant-a", "--purpose", "email",
                  stdin=blobs["tenant-a"], ledger_env=True)  # fmt: skip
    assert guarded.exit_code == 1
    assert "the tenant was shredded" in guarded.stderr
    other = run("open", "--keystore", ks, "--tenant", "tenant-b", "--purpose", "email",
                stdin=blobs["tenant-b"])  # fmt: skip
    assert other.exit_code == 0, other.output
    assert other.stdout_bytes == b"tenant-b"
