"""Every input format the scanner reads, with exact positions of what it finds."""

from __future__ import annotations

import base64
import gzip
import json
import os
from pathlib import Path

import pytest

from cryptorails.secrets_scan import Finding, ScanConfig, fingerprint, scan_file, scan_paths
from cryptorails.secrets_scan._engine import _KEEP

from .corpus import ALNUM, HEX, Gen

G = Gen(11)
CONFIG = ScanConfig(salt=b"s" * 32)


def scan(path: Path, **kw: object) -> list[Finding]:
    findings, warnings = scan_file(path, str(path), kw.pop("config", CONFIG), None)  # type: ignore[arg-type]
    assert warnings == []
    return findings


def where(findings: list[Finding]) -> list[tuple[int, int, str]]:
    return [(f.line, f.column, f.kind) for f in findings]


def test_plain_log(tmp_path: Path) -> None:
    gh, pw = "ghp_" + G.s(36), G.password()
    path = tmp_path / "app.log"
    path.write_text(f"start\n  token {gh} used\nok\ndb password={pw}\n")
    findings = scan(path)
    assert where(findings) == [(2, 9, "github-token"), (4, 13, "generic-credential")]
    assert findings[0].fingerprint == fingerprint(CONFIG.salt, "github-token", gh.encode())
    assert findings[0].preview == "ghp_…[40 chars]"
    assert findings[1].preview == f"[REDACTED:generic-credential:{findings[1].fingerprint[:8]}]"
    assert all(gh not in f.preview and pw not in f.preview for f in findings)


def test_columns_count_characters(tmp_path: Path) -> None:
    gh = "ghp_" + G.s(36)
    path = tmp_path / "utf8.log"
    path.write_text(f"é€🔑 {gh}\n", encoding="utf-8")
    assert where(scan(path)) == [(1, 5, "github-token")]


def test_json_lines(tmp_path: Path) -> None:
    jwt, key = G.jwt(), "AIza" + G.s(35)
    lines = [
        json.dumps({"level": "info", "msg": "ok", "trace_id": G.s(32, HEX)}),
        json.dumps({"level": "warn", "headers": {"authorization": f"Bearer {jwt}"}}),
        json.dumps({"level": "info", "msg": f"maps key {key}"}),
    ]
    path = tmp_path / "app.jsonl"
    path.write_text("\n".join(lines) + "\n")
    col_jwt = lines[1].index(jwt) + 1
    col_key = lines[2].index(key) + 1
    assert where(scan(path)) == [(2, col_jwt, "jwt"), (3, col_key, "google-api-key")]


def test_har_file(tmp_path: Path) -> None:
    jwt, session = G.jwt(), G.s(32)
    har = {
        "log": {
            "version": "1.2",
            "entries": [
                {
                    "request": {
                        "method": "GET",
                        "url": "https://api.example.com/me",
                        "headers": [
                            {"name": "Accept", "value": "application/json"},
                            {"name": "Authorization", "value": f"Bearer {jwt}"},
                            {"name": "Cookie", "value": f"sessionid={session}"},
                        ],
                        "cookies": [{"name": "sessionid", "value": session}],
                    }
                }
            ],
        }
    }
    path = tmp_path / "capture.har"
    text = json.dumps(har, indent=2)
    path.write_text(text)
    lines = text.splitlines()
    jwt_line = next(i for i, line in enumerate(lines, 1) if jwt in line)
    kinds = where(scan(path))
    assert (jwt_line, lines[jwt_line - 1].index(jwt) + 1, "jwt") in kinds
    assert sorted(k for _, _, k in kinds) == ["jwt", "session-cookie", "session-cookie"]


def test_otlp_json_export(tmp_path: Path) -> None:
    pw, bearer = G.password(), G.s(40)
    export = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": G.s(32, HEX),
                                "spanId": G.s(16, HEX),
                                "name": "GET /orders",
                                "attributes": [
                                    {"key": "http.route", "value": {"stringValue": "/orders"}},
                                    {"key": "db.password", "value": {"stringValue": pw}},
                                    {
                                        "key": "http.request.header.authorization",
                                        "value": {
                                            "arrayValue": {
                                                "values": [{"stringValue": f"Bearer {bearer}"}]
                                            }
                                        },
                                    },
                                ],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    path = tmp_path / "traces.json"
    path.write_text(json.dumps(export))
    assert sorted(k for _, _, k in where(scan(path))) == ["bearer-credential", "generic-credential"]


def test_dotenv(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# settings\nDEBUG=false\nDATABASE_URL=postgres://app:"
        f"{G.s(16)}@db:5432/app\nSTRIPE_SECRET_KEY=sk_live_{G.s(24)}\nAPI_TOKEN=${{VAULT_TOKEN}}\n"
    )
    assert where(scan(path)) == [(3, 29, "basic-auth-url"), (4, 19, "stripe-key")]


def test_kubernetes_secret_yaml_values_are_decoded(tmp_path: Path) -> None:
    pw = G.password()
    pem = G.pem("RSA PRIVATE KEY")
    enc_pw = base64.b64encode(pw.encode()).decode()
    enc_pem = base64.b64encode(pem.encode()).decode()
    path = tmp_path / "secret.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  note: aGVsbG8gd29ybGQ=\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
        f'  username: YWRtaW4=\n  password: {enc_pw}\n  tls.key: "{enc_pem}"\n'
        "stringData:\n  note: plain\n"
    )
    findings = scan(path)
    assert where(findings) == [(13, 13, "generic-credential"), (14, 13, "private-key")]
    # the fingerprint is of the decoded secret
    assert findings[0].fingerprint == fingerprint(CONFIG.salt, "generic-credential", pw.encode())


def test_kubernetes_secret_list_json(tmp_path: Path) -> None:
    token = "ghp_" + G.s(36)
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [{"kind": "Secret", "data": {"token": base64.b64encode(token.encode()).decode()}}],
    }
    path = tmp_path / "secrets.json"
    text = json.dumps(doc)
    path.write_text(text)
    column = text.index(base64.b64encode(token.encode()).decode()) + 1
    assert where(scan(path)) == [(1, column, "github-token")]


def test_a_secret_manifest_is_not_needed_for_plain_yaml(tmp_path: Path) -> None:
    pw = G.password()
    path = tmp_path / "values.yaml"
    path.write_text(f'db:\n  host: db\n  password: "{pw}"\n')
    assert where(scan(path)) == [(3, 14, "generic-credential")]


def test_binary_dump_with_an_embedded_key(tmp_path: Path) -> None:
    pem = G.pem("EC PRIVATE KEY").encode()
    data = os.urandom(5000).replace(b"-", b"+") + b"\x00\x00" + pem + b"\x00" + os.urandom(3000)
    path = tmp_path / "core.dump"
    path.write_bytes(data)
    findings = scan(path)
    assert [f.kind for f in findings] == ["private-key"]
    offset = data.index(pem)
    assert findings[0].line == data[:offset].count(b"\n") + 1


def test_large_file_is_memory_mapped_and_scanned_whole(tmp_path: Path) -> None:
    gh = "ghp_" + G.s(36)
    filler = b"x" * 99 + b"\n"
    path = tmp_path / "big.log"
    path.write_bytes(filler * 30_000 + f"t={gh}\n".encode() + filler * 100)
    assert where(scan(path)) == [(30_001, 3, "github-token")]


def test_gzip_lines_are_of_the_decompressed_text(tmp_path: Path) -> None:
    gh, pw = "ghp_" + G.s(36), G.password()
    path = tmp_path / "old.log.gz"
    with gzip.open(path, "wt") as f:
        f.write(f"a {gh}\n")
        for i in range(200_000):  # several decompressed pieces
            f.write(f"line {i} fine\n")
        f.write(f"  password={pw}\n")
    assert where(scan(path)) == [(1, 3, "github-token"), (200_002, 12, "generic-credential")]


@pytest.mark.parametrize("at", [_KEEP - 30, 1 << 22, (1 << 22) - 20, (1 << 22) + 5])
def test_gzip_secret_across_a_piece_boundary(tmp_path: Path, at: int) -> None:
    """A secret cut by a decompression piece boundary is reported once, at its place."""
    gh = "ghp_" + G.s(36)
    prefix = (b"y" * 63 + b"\n") * (at // 64) + b"z" * (at % 64) + b" "
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(prefix + gh.encode() + b"\n" + b"w" * 1000))
    line = prefix.count(b"\n") + 1
    column = len(prefix) - prefix.rfind(b"\n")
    assert where(scan(path)) == [(line, column, "github-token")]


def test_multi_member_gzip(tmp_path: Path) -> None:
    a, b = "ghp_" + G.s(36), "glpat-" + G.s(20)
    path = tmp_path / "rotated.gz"
    path.write_bytes(gzip.compress(f"one {a}\n".encode()) + gzip.compress(f"two {b}\n".encode()))
    assert where(scan(path)) == [(1, 5, "github-token"), (2, 5, "gitlab-token")]


def test_corrupt_and_truncated_gzip_warn_and_keep_earlier_findings(tmp_path: Path) -> None:
    gh = "ghp_" + G.s(36)
    whole = gzip.compress(f"x {gh}\n".encode() + os.urandom(300_000).hex().encode())
    path = tmp_path / "cut.gz"
    path.write_bytes(whole[: len(whole) // 2])
    findings, warnings = scan_file(path, "cut.gz", CONFIG, None)
    assert where(findings) == [(1, 3, "github-token")]
    assert warnings == ["cut.gz: gzip stream ends early; scanned what came before"]
    path.write_bytes(whole[:10] + b"\x07" + bytes(20))  # deflate block type 3: invalid
    findings, warnings = scan_file(path, "bad.gz", CONFIG, None)
    assert findings == []
    assert [w[:26] for w in warnings] == ["bad.gz: corrupt gzip data "]


def test_gzip_output_is_bounded(tmp_path: Path) -> None:
    gh = "ghp_" + G.s(36)
    path = tmp_path / "bomb.gz"
    path.write_bytes(gzip.compress(b"\n" * 3_000_000 + f"{gh}\n".encode()))
    config = ScanConfig(salt=CONFIG.salt, max_decompressed=1_000_000)
    findings, warnings = scan_file(path, "bomb.gz", config, None)
    assert findings == []
    assert warnings == [
        "bomb.gz: stopped after 1000000 decompressed bytes; scanned what came before"
    ]


def test_unreadable_file_is_a_warning(tmp_path: Path) -> None:
    findings, warnings = scan_file(tmp_path / "missing.log", "missing.log", CONFIG, None)
    assert findings == []
    assert warnings == ["cannot read missing.log: No such file or directory"]


def test_a_named_fifo_is_skipped_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    findings, warnings = scan_file(tmp_path / "pipe", "pipe", CONFIG, None)
    assert (findings, warnings) == ([], ["skipped pipe: not a regular file"])


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    assert scan(path) == []


def test_folders_are_walked_with_excludes(tmp_path: Path) -> None:
    def put(rel: str) -> str:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"token ghp_{G.s(36, ALNUM)}\n")
        return str(p)

    kept = [put("a.log"), put("sub/b.log"), put("sub/deep/c.txt")]
    put(".git/config")
    put("node_modules/x/d.log")
    put("sub/skip.bak")
    put("logs/old/e.log")
    os.mkfifo(tmp_path / "pipe")  # never opened: reading it would block
    report = scan_paths([tmp_path], CONFIG, excludes=["node_modules", "*.bak", "logs/old"], jobs=1)
    assert report.warnings == []
    assert report.files == 3
    assert [f.path for f in report.findings] == sorted(kept)


def test_process_pool_gives_the_same_report(tmp_path: Path) -> None:
    for i in range(12):
        (tmp_path / f"f{i:02d}.log").write_text(f"line\nkey=sk_live_{G.s(24)}\n")
    (tmp_path / "gone.log").symlink_to(tmp_path / "nowhere")
    one = scan_paths([tmp_path], CONFIG, jobs=1)
    many = scan_paths([tmp_path], CONFIG, jobs=3)
    assert one == many
    assert len(one.findings) == 12
    assert one.warnings == [f"cannot read {tmp_path / 'gone.log'}: No such file or directory"]
