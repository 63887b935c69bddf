"""`cryptorails triage clocks` and `cryptorails triage blob`: output and exit codes."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import Run

# -- clocks ----------------------------------------------------------------------------


@pytest.fixture
def shifted() -> Iterator[dict[str, str]]:
    """HTTP servers on 127.0.0.1: +120 s, -3 s, no Date, a garbage Date."""
    servers = []

    def start(offset: float, mode: str) -> str:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def date_time_string(self, timestamp: float | None = None) -> str:
                if mode == "garbage":
                    return "Someday, 99 Foo 2026"
                return formatdate(time.time() + offset, usegmt=True)

            def send_response(self, code: int, message: str | None = None) -> None:
                if mode == "none":
                    self.send_response_only(code, message)
                else:
                    super().send_response(code, message)

            def do_HEAD(self) -> None:
                self.send_response(204)
                self.end_headers()

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield {
        "ahead": start(120, "date"),
        "behind": start(-3, "date"),
        "none": start(0, "none"),
        "garbage": start(0, "garbage"),
    }
    for server in servers:
        server.shutdown()
        server.server_close()


def free_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def test_clocks_text_flags_the_skewed_server_and_exits_1(run: Run, shifted: dict[str, str]) -> None:
    result = run("triage", "clocks", shifted["ahead"], shifted["behind"], "--samples", "1")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    ahead, behind = (re.escape(shifted[k]) for k in ("ahead", "behind"))
    number, date = r"[0-9]+\.[0-9] s ± [0-9]+\.[0-9] s", r"\w\w\w, .* GMT"
    assert re.fullmatch(
        rf"SKEWED {ahead}: offset \+1[12][0-9]\.[0-9] s ± [0-9.]+ s, round trip [0-9]+ ms, "
        rf"1 HEAD sample, Date: {date}",
        lines[0],
    )
    assert re.fullmatch(rf"ok {behind}: offset -[2-4]\.[0-9] s ± .*", lines[1])
    assert re.fullmatch(rf"largest spread: {ahead} is {number} ahead of {behind}", lines[2])
    assert lines[3] == (
        "  problem: beyond 30 s: a timestamp made on one of them can be refused by the other"
    )
    assert lines[4] == "verdict: 2 problems (allowed skew 30 s)"


def test_clocks_within_skew_exits_0(run: Run, shifted: dict[str, str]) -> None:
    result = run("triage", "clocks", shifted["behind"], "--samples", "1", "--max-skew", "10")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "verdict: every clock within 10 s of this host"
    # A larger allowance makes the fast server acceptable too.
    wide = run("triage", "clocks", shifted["ahead"], "--samples", "1", "--max-skew", "200")
    assert wide.exit_code == 0


def test_clocks_json_reports_missing_garbage_and_unreachable(
    run: Run, shifted: dict[str, str]
) -> None:
    down = free_url()
    args = [shifted["none"], shifted["garbage"], down, "--samples", "1", "--timeout", "2"]
    result = run("triage", "clocks", *args, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [s["error"] for s in data["servers"]] == [
        "no Date header",
        "invalid Date header 'Someday, 99 Foo 2026'",
        "unreachable: Connection refused",
    ]
    assert data["max_skew"] == 30.0
    assert data["clean"] is False
    text = run("triage", "clocks", *args).stdout.splitlines()
    assert text == [
        f"FAILED {shifted['none']}: no Date header",
        f"FAILED {shifted['garbage']}: invalid Date header 'Someday, 99 Foo 2026'",
        f"FAILED {down}: unreachable: Connection refused",
        "verdict: 3 problems (allowed skew 30 s)",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ftp://x/",), "error: 'ftp://x/' is not an http:// or https:// URL with a host\n"),
        (("http://h/", "--samples", "0"), None),
        (("http://h/", "--max-skew", "-1"), None),
        ((), None),
    ],
)
def test_clocks_usage_errors(run: Run, args: tuple[str, ...], message: str | None) -> None:
    result = run("triage", "clocks", *args)
    assert result.exit_code == 2
    if message is not None:
        assert result.stderr == message


def test_clocks_bad_ca_file_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    result = run("triage", "clocks", "http://127.0.0.1:1/", "--cafile", junk)
    assert result.exit_code == 2
    assert result.stderr == f"error: --cafile {junk}: NO_CERTIFICATE_OR_CRL_FOUND\n"


# -- blob ------------------------------------------------------------------------------


def seal(run: Run, ks: Path, tenant: str, data: bytes = b"alice@example.com") -> str:
    args = ["--keystore", ks, "--tenant", tenant, "--purpose", "user-email", "--base64"]
    result = run("seal", *args, input=data)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def kid(run: Run, ks: Path, tenant: str) -> int:
    result = run("keys", "list", "--keystore", ks, "--tenant", tenant, "--format", "json")
    (row,) = [r for r in json.loads(result.stdout)["keys"] if r["state"] == "primary"]
    return int(row["kid"])


def as_tenant(tenant: str) -> list[str]:
    return ["--tenant", tenant, "--purpose", "user-email"]


def test_blob_of_another_tenant(run: Run, ks: Path) -> None:
    blob = seal(run, ks, "tenant-a")
    seal(run, ks, "tenant-b")
    k = kid(run, ks, "tenant-a")
    result = run("triage", "blob", blob, "--keystore", ks, *as_tenant("tenant-b"))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"blob: 63 bytes, version 1, XAES-256-GCM, kid {k} (0x{k:08x}), 24-byte nonce",
        "keystore (environment prod): kid in 1 keyset",
        "  tenant-a/user-email: key primary (XAES-256-GCM), opens (plaintext 17 bytes)",
        "checked as: tenant-b/user-email",
        "verdict: wrong tenant",
        f"  wrong tenant: kid {k} (0x{k:08x}) belongs to tenant-a/user-email, not to "
        "tenant-b/user-email; it opens under tenant-a/user-email (plaintext 17 bytes), which "
        "confirms whose data it is. A request for tenant-b was given another tenant's "
        "record: check how the record is looked up (a tenant id from the request, a query "
        "without a tenant filter)",
    ]
    assert "alice" not in result.output


def test_blob_opens_from_hex_stdin_and_raw_file(run: Run, ks: Path, tmp_path: Path) -> None:
    blob = base64.b64decode(seal(run, ks, "tenant-a"))
    k = kid(run, ks, "tenant-a")
    ok = run("triage", "blob", blob.hex(), "--keystore", ks, *as_tenant("tenant-a"))
    assert ok.exit_code == 0
    assert ok.stdout.splitlines()[-2:] == [
        "verdict: opens",
        f"  opens under key {k} (0x{k:08x}) of tenant-a/user-email (plaintext 17 bytes)",
    ]
    piped = run("triage", "blob", "-", "--keystore", ks, input=base64.b64encode(blob) + b"\n")
    assert piped.exit_code == 0
    raw = run("triage", "blob", "-", "--keystore", ks, "--format", "json", input=blob)
    assert raw.exit_code == 0
    assert json.loads(raw.stdout)["plaintext_length"] == 17
    path = tmp_path / "blob.bin"
    path.write_bytes(blob)
    data = json.loads(
        run("triage", "blob", f"@{path}", "--keystore", ks, "--format", "json").stdout
    )
    assert data["verdict"] == "opens"
    assert data["owners"][0]["tenant"] == "tenant-a"


def test_blob_with_the_wrong_aad_and_a_disabled_key(run: Run, ks: Path) -> None:
    blob = seal(run, ks, "tenant-a")
    result = run("triage", "blob", blob, "--keystore", ks, *as_tenant("tenant-a"), "--aad", "x")
    assert result.exit_code == 1
    assert "does not open: authentication_failed (opens with an empty aad)" in result.stdout
    assert "verdict: tag mismatch" in result.stdout
    k = kid(run, ks, "tenant-a")
    store = ["--keystore", ks, *as_tenant("tenant-a")]
    assert run("keys", "rotate", *store).exit_code == 0
    assert run("keys", "disable", *store, "--kid", str(k)).exit_code == 0
    result = run("triage", "blob", blob, *store, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["verdict"] == "key_disabled"
    assert data["owners"][0]["state"] == "disabled"


def test_blob_of_a_shredded_tenant_with_the_ledger(run: Run, ks: Path, tmp_path: Path) -> None:
    blob = seal(run, ks, "tenant-a")
    ledger = f"sqlite://{tmp_path / 'ledger.db'}"
    shred = run(
        "keys", "shred", "--keystore", ks, "--ledger", ledger, "--tenant", "tenant-a", "--yes"
    )
    assert shred.exit_code == 0, shred.output
    result = run(
        "triage", "blob", blob, "--keystore", ks, "--ledger", ledger, *as_tenant("tenant-a")
    )
    assert result.exit_code == 1
    assert "verdict: tenant shredded" in result.stdout
    assert "tombstone: tenant tenant-a shredded at " in result.stdout
    unknown = run("triage", "blob", blob, "--keystore", ks, *as_tenant("tenant-a"))
    assert "verdict: unknown kid" in unknown.stdout  # without the ledger: no trace left


NOT_TEXT = "BLOB is neither base64 nor hex (use @path for a raw file, - for stdin)"
NOT_STDIN = "stdin holds neither base64 nor hex text nor a raw blob"
TOGETHER = "give --tenant and --purpose together (or neither)"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("not-a-blob!",), None, NOT_TEXT),
        (("-",), b"\x00\xffjunk", NOT_STDIN),
        (("AQE=", "--tenant", "tenant-a"), None, TOGETHER),
    ],
)
def test_blob_usage_errors(
    run: Run, ks: Path, args: tuple[str, ...], stdin: bytes | None, message: str
) -> None:
    result = run("triage", "blob", *args, "--keystore", ks, input=stdin)
    assert result.exit_code == 2
    assert result.stderr == f"error: {message}\n"


def test_malformed_blob_exits_1(run: Run, ks: Path) -> None:
    result = run("triage", "blob", "AQE=", "--keystore", ks)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "blob: 2 bytes",
        "verdict: malformed",
        "  2 bytes: shorter than a header",
    ]
