"""`cryptorails secrets`: outputs, exit codes, baselines, known keys."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cryptorails import Context, Keyring, LocalKek
from cryptorails.algorithms import Algorithm
from cryptorails.cli import cli

from ..test_sarif import check_sarif
from .corpus import Gen

G = Gen(13)
Run = Callable[..., Result]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.delenv("CRYPTORAILS_KEK_FILE", raising=False)

    def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
        result = CliRunner().invoke(cli, ["secrets", *map(str, args)], env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        return result

    return invoke


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, list[str]]:
    """A folder with two leaky files and a clean one; returns it and the secrets."""
    gh, pw = "ghp_" + G.s(36), G.password()
    root = tmp_path / "artifacts"
    (root / "sub").mkdir(parents=True)
    (root / "app.log").write_text(f"boot\nusing {gh}\n")
    (root / "sub" / "db.env").write_text(f"DB_PASSWORD={pw}\n")
    (root / "clean.log").write_text("nothing to see\n")
    return root, [gh, pw]


def test_text_output_is_grouped_by_file_and_masked(run: Run, tree: tuple[Path, list[str]]) -> None:
    root, secrets = tree
    result = run(root)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == str(root / "app.log")
    assert lines[1].split()[:3] == ["2:7", "github-token", "ghp_…[40"]
    assert lines[2] == str(root / "sub" / "db.env")
    assert lines[3].split()[:2] == ["1:13", "generic-credential"]
    assert "[REDACTED:generic-credential:" in lines[3]
    assert lines[4] == "2 secrets in 2 files (3 files scanned)"
    assert all(s not in result.output for s in secrets)


def test_clean_input_exits_0(run: Run, tmp_path: Path) -> None:
    (tmp_path / "ok.log").write_text("all good\n")
    result = run(tmp_path)
    assert result.exit_code == 0
    assert result.stdout == "no secrets found (1 file scanned)\n"


def test_json_output(run: Run, tree: tuple[Path, list[str]]) -> None:
    root, secrets = tree
    result = run(root, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(d["path"], d["line"], d["column"], d["kind"]) for d in data] == [
        (str(root / "app.log"), 2, 7, "github-token"),
        (str(root / "sub" / "db.env"), 1, 13, "generic-credential"),
    ]
    assert all(set(d) == {"path", "line", "column", "kind", "fingerprint"} for d in data)
    assert all(len(d["fingerprint"]) == 32 for d in data)
    assert all(s not in result.stdout for s in secrets)


def test_fingerprints_differ_between_runs_without_a_baseline(
    run: Run, tree: tuple[Path, list[str]]
) -> None:
    root, _ = tree
    first = json.loads(run(root, "--format", "json").stdout)
    second = json.loads(run(root, "--format", "json").stdout)
    assert first[0]["fingerprint"] != second[0]["fingerprint"]


def test_sarif_output(run: Run, tree: tuple[Path, list[str]]) -> None:
    root, secrets = tree
    result = run(root, "--format", "sarif")
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    check_sarif(log)
    (sarif_run,) = log["runs"]
    results = sarif_run["results"]
    assert [r["ruleId"] for r in results] == ["github-token", "generic-credential"]
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == (root / "app.log").as_posix()
    assert location["region"] == {"startLine": 2, "startColumn": 7}
    assert all(len(r["partialFingerprints"]["cryptorails/v1"]) == 32 for r in results)
    assert all(s not in result.stdout for s in secrets)


def test_missing_path_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    result = run(tmp_path / "nope.log")
    assert result.exit_code == 2
    assert "nope.log' does not exist" in result.stderr
    assert run().exit_code == 2  # no path at all


def test_unreadable_file_warns_and_the_scan_goes_on(run: Run, tree: tuple[Path, list[str]]) -> None:
    root, _ = tree
    (root / "dangling.log").symlink_to(root / "missing")
    result = run(root, "--format", "json")
    assert result.exit_code == 1
    assert len(json.loads(result.stdout)) == 2
    assert (
        result.stderr
        == f"warning: cannot read {root / 'dangling.log'}: No such file or directory\n"
    )


def test_excludes_and_jobs(run: Run, tree: tuple[Path, list[str]]) -> None:
    root, _ = tree
    result = run(root, "--exclude", "sub", "--exclude", "*.txt", "--jobs", "2", "--format", "json")
    assert [d["kind"] for d in json.loads(result.stdout)] == ["github-token"]
    assert run(root, "--jobs", "0").exit_code == 2


# -- baseline --------------------------------------------------------------------------


def test_baseline_round_trip(run: Run, tree: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, secrets = tree
    baseline = tmp_path / "baseline.json"
    written = run(root, "--write-baseline", baseline, "--format", "json")
    assert written.exit_code == 0
    assert written.stderr == f"wrote baseline {baseline} (2 findings accepted)\n"
    text = baseline.read_text()
    assert all(s not in text for s in secrets)
    data = json.loads(text)
    assert set(data) == {"format", "salt", "fingerprints"}
    assert data["format"] == "cryptorails/v1/secrets-baseline"
    assert len(bytes.fromhex(data["salt"])) == 32
    # the run that wrote it used its salt: the JSON output has the same fingerprints
    assert sorted(d["fingerprint"] for d in json.loads(written.stdout)) == data["fingerprints"]

    accepted = run(root, "--baseline", baseline)
    assert accepted.exit_code == 0
    assert accepted.stdout == "no secrets found (3 files scanned, 2 accepted by the baseline)\n"

    # a new secret is not accepted, and moving an accepted one does not resurrect it
    new = "sk_live_" + G.s(24)
    (root / "clean.log").write_text(f"charge with {new}\n")
    (root / "app.log").write_text(f"moved down\n\n\nusing {secrets[0]}\n")
    result = run(root, "--baseline", baseline, "--format", "json")
    assert result.exit_code == 1
    assert [(d["kind"], d["line"]) for d in json.loads(result.stdout)] == [("stripe-key", 1)]


def test_bad_baseline_is_a_usage_error(
    run: Run, tree: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, _ = tree
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something-else"}')
    result = run(root, "--baseline", bad)
    assert result.exit_code == 2
    assert result.stderr == f"error: {bad} is not a cryptorails secrets baseline\n"
    missing = run(root, "--baseline", tmp_path / "missing.json")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: cannot read baseline")
    bad.write_text(
        json.dumps({"format": "cryptorails/v1/secrets-baseline", "salt": "00", "fingerprints": []})
    )
    assert (
        run(root, "--baseline", bad).stderr
        == f"error: baseline {bad}: salt must be 64 hex digits\n"
    )


# -- known keys ------------------------------------------------------------------------


@pytest.fixture
def keystore(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """A file keystore (KEK at the default <ks>.kek) with an AEAD and a signing keyset."""
    path = tmp_path / "ks"
    kek = LocalKek.generate(tmp_path / "ks.kek")
    ring = Keyring.open(path, kek=kek, environment="prod", create=True)
    ring.keyset(Context("acme", "orders"))
    ring.keyset(Context("acme", "tokens"), algorithm=Algorithm.ED25519)
    materials = [
        k.material.reveal()
        for ctx in ring.contexts()
        for k in ring.keyset(ctx)
        if k.material is not None
    ]
    return path, materials


def test_known_keys_in_every_encoding(
    run: Run, keystore: tuple[Path, list[bytes]], tmp_path: Path
) -> None:
    ks, (aead, signing) = keystore
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.log").write_text(
        f"hex {aead.hex()}\nb64 {base64.b64encode(aead).decode()}\n"
        f"url {base64.urlsafe_b64encode(signing).rstrip(b'=').decode()}\n"
    )
    (logs / "b.bin").write_bytes(b"\x00\x01" + aead + b"\x02")
    result = run(logs, "--known-keys", ks, "--format", "json")
    assert result.exit_code == 1, result.output
    found = [
        (Path(d["path"]).name, d["line"], d["column"], d["kind"]) for d in json.loads(result.stdout)
    ]
    assert found == [
        ("a.log", 1, 5, "known-key"),
        ("a.log", 2, 5, "known-key"),
        ("a.log", 3, 5, "known-key"),
        ("b.bin", 1, 3, "known-key"),
    ]
    # without the keystore, random key bytes look like nothing
    assert run(logs).exit_code == 0


def test_known_keys_with_the_kek_from_the_environment(
    run: Run, keystore: tuple[Path, list[bytes]], tmp_path: Path
) -> None:
    ks, (aead, _) = keystore
    moved = tmp_path / "elsewhere.kek"
    (tmp_path / "ks.kek").rename(moved)
    log = tmp_path / "x.log"
    log.write_text(f"{aead.hex()}\n")
    assert run(log, "--known-keys", ks).exit_code == 2  # default KEK path is gone
    result = run(log, "--known-keys", ks, env={"CRYPTORAILS_KEK_FILE": str(moved)})
    assert result.exit_code == 1
    assert "known-key" in result.stdout
    assert aead.hex() not in result.output


def test_known_keys_in_another_environment_is_refused(
    run: Run, keystore: tuple[Path, list[bytes]], tmp_path: Path
) -> None:
    ks, _ = keystore
    (tmp_path / "x.log").write_text("x\n")
    result = run(tmp_path / "x.log", "--known-keys", ks, "--environment", "staging")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
