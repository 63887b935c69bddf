"""The `cryptorails` command: outputs, exit codes (0/1/2) and error texts."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result

from .conftest import Run

KEY_FIELDS = {
    "tenant",
    "purpose",
    "kid",
    "algorithm",
    "state",
    "created",
    "uses",
    "nist_state",
    "changed",
}


def store(ks: Path, tenant: str = "tenant-a", purpose: str = "user-email") -> list[str]:
    return ["--keystore", str(ks), "--tenant", tenant, "--purpose", purpose]


def seal(run: Run, ks: Path, data: bytes, *extra: str, tenant: str = "tenant-a") -> bytes:
    result = run("seal", *store(ks, tenant), *extra, input=data)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def keys_json(run: Run, ks: Path, *extra: str) -> list[dict[str, object]]:
    result = run("keys", "list", "--keystore", ks, "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)["keys"]
    return rows


def assert_refused(result: Result) -> None:
    assert result.exit_code == 1
    assert result.stderr == "decryption failed\n"
    assert result.stdout_bytes == b""


# -- basics ----------------------------------------------------------------------------


def test_version(run: Run) -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == "cryptorails, version 0.1.0\n"


def test_unknown_option_and_bad_format_are_usage_errors(run: Run, ks: Path) -> None:
    assert run("keys", "list", "--keystore", ks, "--bogus").exit_code == 2
    assert run("keys", "list", "--keystore", ks, "--format", "xml").exit_code == 2
    assert run("seal", "--keystore", ks, "--tenant", "t", input=b"x").exit_code == 2


# -- keys init -------------------------------------------------------------------------


def test_init_writes_a_0600_sibling_kek_and_the_keystore(run: Run, tmp_path: Path) -> None:
    ks = tmp_path / "ks"
    result = run("keys", "init", "--keystore", ks, "--environment", "prod")
    assert result.exit_code == 0
    kek = tmp_path / "ks.kek"
    assert result.stdout.splitlines()[:2] == [
        f"created keystore {ks} (environment prod)",
        f"wrote KEK file {kek} (mode 0600)",
    ]
    assert kek.stat().st_mode & 0o777 == 0o600
    assert len(kek.read_bytes()) == 32
    assert (ks / "keystore.json").is_file()
    assert not any(p.name.endswith(".kek") for p in ks.rglob("*"))


def test_init_json_and_explicit_kek(run: Run, tmp_path: Path) -> None:
    kek = tmp_path / "elsewhere" / "prod.kek"
    kek.parent.mkdir()
    args = ["keys", "init", "--keystore", tmp_path / "ks", "--environment", "staging"]
    result = run(*args, "--kek", kek, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["keystore"] == str(tmp_path / "ks")
    assert data["environment"] == "staging"
    assert data["kek_file"] == str(kek)
    assert re.fullmatch(r"[0-9a-f]{32}", data["kek_id"])
    assert kek.is_file()
    assert not (tmp_path / "ks.kek").exists()


def test_init_twice_is_refused(run: Run, ks: Path) -> None:
    before = (ks.parent / "ks.kek").read_bytes()
    result = run("keys", "init", "--keystore", ks, "--environment", "prod")
    assert result.exit_code == 2
    assert result.stderr == f"error: a keystore already exists at {ks}\n"
    assert (ks.parent / "ks.kek").read_bytes() == before


def test_init_refuses_to_overwrite_a_kek(run: Run, tmp_path: Path) -> None:
    (tmp_path / "ks.kek").write_bytes(b"k" * 32)
    result = run("keys", "init", "--keystore", tmp_path / "ks", "--environment", "prod")
    assert result.exit_code == 2
    assert (
        result.stderr == f"error: KEK file {tmp_path / 'ks.kek'} already exists; not overwriting\n"
    )
    assert not (tmp_path / "ks").exists()


def test_init_rejects_a_bad_environment_label(run: Run, tmp_path: Path) -> None:
    result = run("keys", "init", "--keystore", tmp_path / "ks", "--environment", "")
    assert result.exit_code == 2
    assert "environment must not be empty" in result.stderr
    assert list(tmp_path.iterdir()) == []


# -- seal / open -----------------------------------------------------------------------

PLAINTEXT = b"alice@example.com\x00\xff\n binary"


def test_seal_open_round_trip_binary(run: Run, ks: Path) -> None:
    blob = seal(run, ks, PLAINTEXT)
    assert PLAINTEXT not in blob
    result = run("open", *store(ks), input=blob)
    assert result.exit_code == 0
    assert result.stdout_bytes == PLAINTEXT
    assert result.stderr == ""


def test_seal_open_round_trip_base64_with_surrounding_whitespace(run: Run, ks: Path) -> None:
    text = seal(run, ks, PLAINTEXT, "--base64").decode()
    assert text.endswith("\n")
    assert text.count("\n") == 1
    assert len(base64.b64decode(text[:-1], validate=True)) > len(PLAINTEXT)
    result = run("open", *store(ks), "--base64", input=f"  \n\t{text}\n\n")
    assert result.exit_code == 0
    assert result.stdout_bytes == PLAINTEXT


def test_seal_open_json(run: Run, ks: Path) -> None:
    result = run("seal", *store(ks), "--format", "json", input=PLAINTEXT)
    assert result.exit_code == 0
    blob = json.loads(result.stdout)["blob"]
    result = run("open", *store(ks), "--base64", "--format", "json", input=blob)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"plaintext_base64": base64.b64encode(PLAINTEXT).decode()}


def test_aad_must_match(run: Run, ks: Path) -> None:
    blob = seal(run, ks, PLAINTEXT, "--aad", "order-17")
    assert run("open", *store(ks), "--aad", "order-17", input=blob).stdout_bytes == PLAINTEXT
    assert_refused(run("open", *store(ks), "--aad", "order-18", input=blob))
    assert_refused(run("open", *store(ks), input=blob))


@pytest.mark.parametrize("b_has_keyset", [False, True])
def test_open_with_another_tenant_is_refused(run: Run, ks: Path, b_has_keyset: bool) -> None:
    blob = seal(run, ks, PLAINTEXT)
    if b_has_keyset:
        seal(run, ks, b"b's data", tenant="tenant-b")
    assert_refused(run("open", *store(ks, "tenant-b"), input=blob))
    assert_refused(run("open", *store(ks, "tenant-a", "other-purpose"), input=blob))


@pytest.mark.parametrize(
    ("data", "b64"),
    [
        (b"", False),
        (b"\x01", False),
        (b"garbage that is not a blob at all, not even close", False),
        (b"not base64 !!", True),
        (b"QUJD\nREVG", True),  # whitespace inside is not "surrounding"
        (b"\xff\xfe", True),
        (b"", True),
    ],
)
def test_open_of_garbage_is_refused(run: Run, ks: Path, data: bytes, b64: bool) -> None:
    seal(run, ks, PLAINTEXT)  # so that the keyset exists
    assert_refused(run("open", *store(ks), *(["--base64"] if b64 else []), input=data))


@pytest.mark.parametrize("position", [0, 1, 2, 5, 20, -17, -1])
def test_tampering_with_one_byte_is_refused(run: Run, ks: Path, position: int) -> None:
    blob = bytearray(seal(run, ks, PLAINTEXT))
    blob[position] ^= 0x01
    assert_refused(run("open", *store(ks), input=bytes(blob)))
    assert_refused(run("open", *store(ks), input=bytes(blob[:-1])))


def test_seal_with_wrong_environment_is_a_usage_error(run: Run, ks: Path) -> None:
    result = run("seal", *store(ks), "--environment", "staging", input=PLAINTEXT)
    assert result.exit_code == 2
    assert result.stderr == f"error: keystore {ks} belongs to environment 'prod', not 'staging'\n"
    assert result.stdout_bytes == b""
    assert run("seal", *store(ks), "--environment", "prod", input=b"x").exit_code == 0


def test_missing_keystore_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    for args in (["keys", "list", "--keystore", missing], ["open", *store(missing)]):
        result = run(*args, input=b"x")
        assert result.exit_code == 2
        assert result.stderr == (
            f"error: no keystore at {missing} (create one with `cryptorails keys init`)\n"
        )


def test_kek_readable_by_others_is_refused(run: Run, ks: Path) -> None:
    kek = ks.parent / "ks.kek"
    kek.chmod(0o644)
    result = run("seal", *store(ks), input=PLAINTEXT)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: KEK file {kek} is accessible by group or others (mode 0644); "
        f"run: chmod 600 {kek}\n"
    )


def test_kek_from_environment_variable(run: Run, tmp_path: Path) -> None:
    ks, kek = tmp_path / "ks", tmp_path / "secret" / "prod.kek"
    kek.parent.mkdir()
    assert run("keys", "init", "--keystore", ks, "--environment", "p", "--kek", kek).exit_code == 0
    missing = run("seal", *store(ks), input=PLAINTEXT)  # falls back to <ks>.kek: absent
    assert missing.exit_code == 2
    assert missing.stderr.startswith(f"error: cannot read KEK file {tmp_path / 'ks.kek'}: ")
    env = {"CRYPTORAILS_KEK_FILE": str(kek)}
    blob = run("seal", *store(ks), input=PLAINTEXT, env=env).stdout_bytes
    assert run("open", *store(ks), input=blob, env=env).stdout_bytes == PLAINTEXT
    # --kek wins over the environment variable.
    other = tmp_path / "other.kek"
    other.write_bytes(os.urandom(32))
    other.chmod(0o600)
    result = run("open", *store(ks), "--kek", other, input=blob, env=env)
    assert result.exit_code == 2
    assert result.stderr == f"error: keystore {ks} was created under a different KEK\n"


def test_corrupt_keystore_metadata_is_a_usage_error(run: Run, ks: Path) -> None:
    (ks / "keystore.json").write_text("{not json")
    result = run("keys", "list", "--keystore", ks)
    assert result.exit_code == 2
    assert result.stderr == f"error: {ks / 'keystore.json'} is not valid JSON\n"


# -- key lifecycle ---------------------------------------------------------------------


def test_rotate_then_list_shows_primary_and_active(run: Run, ks: Path) -> None:
    seal(run, ks, PLAINTEXT)
    [old] = keys_json(run, ks)
    result = run("keys", "rotate", *store(ks))
    assert result.exit_code == 0
    new = keys_json(run, ks)
    assert [(k["kid"], k["state"]) for k in new] == [
        (old["kid"], "active"),
        (new[1]["kid"], "primary"),
    ]
    assert (
        result.stdout == f"new primary kid {new[1]['kid']} (XAES-256-GCM) for tenant-a/user-email\n"
    )
    assert set(new[0]) == {
        "tenant",
        "purpose",
        "kid",
        "algorithm",
        "state",
        "created",
        "uses",
        "nist_state",
        "changed",
    }
    text = run("keys", "list", "--keystore", ks).stdout
    assert re.search(rf"tenant-a .* user-email .* {old['kid']} .* XAES-256-GCM .* active ", text)
    assert re.search(rf"tenant-a .* user-email .* {new[1]['kid']} .* primary ", text)


def test_rotate_json_and_algorithm_switch(run: Run, ks: Path) -> None:
    old_blob = seal(run, ks, PLAINTEXT)
    result = run("keys", "rotate", *store(ks), "--algorithm", "AES-256-GCM-SIV", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["tenant"] == "tenant-a"
    assert data["purpose"] == "user-email"
    assert data["algorithm"] == "AES-256-GCM-SIV"
    assert [k["algorithm"] for k in keys_json(run, ks)] == ["XAES-256-GCM", "AES-256-GCM-SIV"]
    new_blob = seal(run, ks, b"new")
    assert run("open", *store(ks), input=old_blob).stdout_bytes == PLAINTEXT
    assert run("open", *store(ks), input=new_blob).stdout_bytes == b"new"
    assert run("keys", "rotate", *store(ks), "--algorithm", "DES").exit_code == 2


def test_list_filters_and_empty_keystore(run: Run, ks: Path) -> None:
    assert run("keys", "list", "--keystore", ks).stdout == "no keys\n"
    assert keys_json(run, ks) == []
    seal(run, ks, b"a")
    seal(run, ks, b"b", tenant="tenant-b")
    run("seal", *store(ks, "tenant-b", "api-token"), input=b"c")
    assert {(k["tenant"], k["purpose"]) for k in keys_json(run, ks)} == {
        ("tenant-a", "user-email"),
        ("tenant-b", "user-email"),
        ("tenant-b", "api-token"),
    }
    assert {k["purpose"] for k in keys_json(run, ks, "--tenant", "tenant-b")} == {
        "user-email",
        "api-token",
    }
    only = keys_json(run, ks, "--tenant", "tenant-b", "--purpose", "api-token")
    assert [(k["tenant"], k["purpose"]) for k in only] == [("tenant-b", "api-token")]
    assert keys_json(run, ks, "--tenant", "tenant-c") == []


def test_labels_are_printed_literally_not_as_markup(run: Run, ks: Path) -> None:
    seal(run, ks, b"x", tenant="[bold red]t[/]")
    assert "[bold red]t[/]" in run("keys", "list", "--keystore", ks).stdout


def test_disabling_the_primary_is_refused(run: Run, ks: Path) -> None:
    seal(run, ks, PLAINTEXT)
    [key] = keys_json(run, ks)
    result = run("keys", "disable", *store(ks), "--kid", str(key["kid"]))
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"error: key {key['kid']} cannot go from primary to disabled; rotate first\n"
    )
    assert keys_json(run, ks)[0]["state"] == "primary"


def test_disable_enable_destroy(run: Run, ks: Path) -> None:
    old_blob = seal(run, ks, PLAINTEXT)
    run("keys", "rotate", *store(ks))
    new_blob = seal(run, ks, b"new")
    old, new = (k["kid"] for k in keys_json(run, ks))
    assert isinstance(old, int)

    result = run("keys", "disable", *store(ks), "--kid", str(old))
    assert result.exit_code == 0
    assert result.stdout == f"key {old} of tenant-a/user-email is now disabled\n"
    assert [k["state"] for k in keys_json(run, ks)] == ["disabled", "primary"]
    assert_refused(run("open", *store(ks), input=old_blob))
    assert run("open", *store(ks), input=new_blob).stdout_bytes == b"new"

    # Hex kid, JSON output.
    result = run("keys", "enable", *store(ks), "--kid", hex(old), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "tenant": "tenant-a",
        "purpose": "user-email",
        "kid": old,
        "state": "active",
    }
    assert run("open", *store(ks), input=old_blob).stdout_bytes == PLAINTEXT

    # Only a disabled key may be destroyed.
    result = run("keys", "destroy", *store(ks), "--kid", str(old), "--yes")
    assert result.exit_code == 2
    assert result.stderr == f"error: key {old} cannot go from active to destroyed\n"

    run("keys", "disable", *store(ks), "--kid", str(old))
    declined = run("keys", "destroy", *store(ks), "--kid", str(old), input="n\n")
    assert declined.exit_code == 1
    assert f"Destroy key {old} of tenant-a/user-email?" in declined.stderr
    assert keys_json(run, ks)[0]["state"] == "disabled"

    result = run("keys", "destroy", *store(ks), "--kid", str(old), "--yes")
    assert result.exit_code == 0
    assert result.stdout == f"key {old} of tenant-a/user-email is now destroyed\n"
    assert [k["state"] for k in keys_json(run, ks)] == ["destroyed", "primary"]
    assert_refused(run("open", *store(ks), input=old_blob))
    result = run("keys", "enable", *store(ks), "--kid", str(old))
    assert result.exit_code == 2
    assert result.stderr == f"error: key {old} cannot go from destroyed to active\n"
    assert run("open", *store(ks), input=new_blob).stdout_bytes == b"new"
    assert new != old


def test_destroy_confirmed_interactively(run: Run, ks: Path) -> None:
    seal(run, ks, PLAINTEXT)
    run("keys", "rotate", *store(ks))
    old = keys_json(run, ks)[0]["kid"]
    run("keys", "disable", *store(ks), "--kid", str(old))
    assert run("keys", "destroy", *store(ks), "--kid", str(old), input="y\n").exit_code == 0
    assert keys_json(run, ks)[0]["state"] == "destroyed"


@pytest.mark.parametrize("kid", ["abc", "-1", "0x", "4294967296", "0x1_0", "1e3", "9" * 5000])
def test_bad_kid_is_a_usage_error(run: Run, ks: Path, kid: str) -> None:
    result = run("keys", "disable", *store(ks), "--kid", kid)
    assert result.exit_code == 2
    assert "Invalid value for '--kid'" in result.stderr


def test_unknown_kid_is_a_usage_error(run: Run, ks: Path) -> None:
    seal(run, ks, PLAINTEXT)
    kid = int(str(keys_json(run, ks)[0]["kid"])) ^ 1
    result = run("keys", "disable", *store(ks), "--kid", str(kid))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: no key {kid} in the keyset of ")


def test_state_change_on_a_missing_keyset_is_a_usage_error(run: Run, ks: Path) -> None:
    result = run("keys", "disable", *store(ks), "--kid", "1")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no keyset for ")


# -- demo ------------------------------------------------------------------------------


def test_demo_text(run: Run) -> None:
    result = run("demo")
    assert result.exit_code == 0
    out = result.stdout
    assert "tenant-a" in out
    assert "tenant-b" in out
    assert "refused: decryption failed" in out
    assert "old blob still opens after rotation" in out
    assert "FAILED" not in out
    assert re.search(r"tenant-a .* active ", out)
    assert len(re.findall(r"│ primary +│", out)) == 2


def test_demo_json(run: Run) -> None:
    result = run("demo", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["environment"] == "demo"
    assert [(s["step"], s["tenant"]) for s in data["steps"]] == [
        ("seal", "tenant-a"),
        ("open", "tenant-a"),
        ("seal", "tenant-b"),
        ("open", "tenant-b"),
        ("open", "tenant-b"),
        ("rotate", "tenant-a"),
        ("open", "tenant-a"),
    ]
    assert all(s["ok"] for s in data["steps"])
    assert data["steps"][4]["blob_of"] == "tenant-a"
    assert data["steps"][4]["detail"].endswith("refused: decryption failed")
    assert sorted((k["tenant"], k["state"]) for k in data["keys"]) == [
        ("tenant-a", "active"),
        ("tenant-a", "primary"),
        ("tenant-b", "primary"),
    ]
    for key in data["keys"]:
        assert set(key) == KEY_FIELDS


def test_demo_console_script_in_a_subprocess(tmp_path: Path) -> None:
    exe = shutil.which("cryptorails") or str(Path(sys.executable).parent / "cryptorails")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [exe, "demo"], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "tenant-a" in proc.stdout
    assert "tenant-b" in proc.stdout
    assert "refused: decryption failed" in proc.stdout
    assert list(tmp_path.iterdir()) == []  # the temporary keystore is gone


def test_keystore_recording_an_invalid_environment_is_a_usage_error(run: Run, ks: Path) -> None:
    meta = json.loads((ks / "keystore.json").read_text())
    (ks / "keystore.json").write_text(json.dumps({**meta, "environment": ""}))
    result = run("keys", "list", "--keystore", ks)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {ks / 'keystore.json'} records an invalid environment: "
        "environment must not be empty\n"
    )


def test_init_with_a_missing_kek_folder_leaves_nothing_behind(run: Run, tmp_path: Path) -> None:
    kek = tmp_path / "missing" / "prod.kek"
    args = ["keys", "init", "--keystore", tmp_path / "ks", "--environment", "prod", "--kek", kek]
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr == f"error: cannot create KEK file {kek}: No such file or directory\n"
    assert list(tmp_path.iterdir()) == []
