"""The value detectors: every kind found with its exact span, every trap left alone."""

from __future__ import annotations

import base64
import itertools
import json
import mmap
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptorails.redact._detectors import (
    _CHUNK,
    KINDS,
    Found,
    find_secrets,
    find_secrets_bytes,
    is_placeholder,
    resolve_overlaps,
    shannon_entropy,
)

from ..secrets_scan.corpus import ALNUM, B32, B64, HEX, Gen

G = Gen(7)


def only(text: str) -> tuple[str, str]:
    """The single finding of `text`: (kind, the exact secret text)."""
    found = find_secrets(text)
    assert len(found) == 1, found
    return found[0].kind, text[found[0].start : found[0].end]


# -- every kind ------------------------------------------------------------------------


def _cases() -> list[tuple[str, str, str]]:
    """(kind, the secret, a line carrying it)."""
    gh = "ghp_" + G.s(36)
    pat = f"github_pat_{G.s(22)}_{G.s(59)}"
    gl = "glpat-" + G.s(20, ALNUM + "_-")
    slack = f"xoxb-{G.s(12, string.digits)}-{G.s(13, string.digits)}-{G.s(24)}"
    hook = f"services/T{G.s(8, B32)}/B{G.s(10, B32)}/{G.s(24)}"
    stripe = "sk_live_" + G.s(24)
    rk = "rk_test_" + G.s(24)
    gkey = "AIza" + G.s(35, ALNUM + "_-")
    akia = "AKIA" + G.s(16, B32)
    asia = "ASIA" + G.s(16, B32)
    aws_secret = G.s(40, B64)
    azure = G.b64(64)
    jwt = G.jwt()
    pem = G.pem("RSA PRIVATE KEY").rstrip("\n")
    whsec = "whsec_" + G.b64(24)
    url_pw = G.s(14)
    bearer = G.s(40, ALNUM + "-._~")
    basic = base64.b64encode(b"svc:" + G.s(12).encode()).decode()
    cookie = G.s(32)
    pw = G.password()
    api = G.s(32)
    return [
        ("github-token", gh, f"push with token {gh} ok"),
        ("github-token", pat, f"GH_TOKEN={pat}"),
        ("gitlab-token", gl, f"registered {gl}"),
        ("slack-token", slack, f"SLACK={slack}"),
        ("slack-webhook", hook, f"POST https://hooks.slack.com/{hook} 200"),
        ("stripe-key", stripe, f"key={stripe}"),
        ("stripe-key", rk, f"using {rk}"),
        ("google-api-key", gkey, f"GET /geocode?key={gkey}&q=x"),
        ("aws-access-key", akia, f"aws_access_key_id = {akia}"),
        ("aws-access-key", asia, f'"AccessKeyId": "{asia}"'),
        ("aws-secret-key", aws_secret, f"aws_secret_access_key = {aws_secret}"),
        ("azure-storage-key", azure, f"AccountName=a;AccountKey={azure};EndpointSuffix=x"),
        ("jwt", jwt, f"id_token={jwt}"),
        ("private-key", pem, f"key:\n{pem}\nafter"),
        ("webhook-secret", whsec, f"WEBHOOK_SECRET={whsec}"),
        ("basic-auth-url", url_pw, f"GET https://deploy:{url_pw}@registry.example.com/v2/"),
        ("bearer-credential", bearer, f"Authorization: Bearer {bearer}"),
        ("bearer-credential", basic, f"Authorization: Basic {basic}"),
        ("session-cookie", cookie, f"Cookie: theme=dark; sessionid={cookie}; lang=en"),
        ("generic-credential", pw, f"db connect password={pw} user=app"),
        ("generic-credential", api, json.dumps({"api_key": api})),
    ]


@pytest.mark.parametrize(("kind", "secret", "line"), _cases(), ids=lambda v: str(v)[:24])
def test_each_kind_is_found_with_its_exact_span(kind: str, secret: str, line: str) -> None:
    assert only(line) == (kind, secret)
    assert kind in KINDS


def test_gcp_service_account_private_key() -> None:
    pem = G.pem("PRIVATE KEY")
    doc = json.dumps({"type": "service_account", "private_key_id": "k1", "private_key": pem})
    kind, text = only(doc)
    assert kind == "gcp-service-account"
    assert text.startswith("-----BEGIN PRIVATE KEY-----\\n")
    assert text.endswith("-----END PRIVATE KEY-----")


@pytest.mark.parametrize(
    "label",
    ["PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY",
     "DSA PRIVATE KEY", "PGP PRIVATE KEY BLOCK"],
)  # fmt: skip
def test_private_key_labels(label: str) -> None:
    pem = G.pem(label).rstrip("\n")
    assert only(f"x {pem} y") == ("private-key", pem)


def test_encrypted_traditional_pem_with_headers() -> None:
    body = G.b64(300)
    pem = (
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
        f"DEK-Info: AES-128-CBC,{G.s(32, HEX).upper()}\n\n{body}\n-----END RSA PRIVATE KEY-----"
    )
    assert only(pem) == ("private-key", pem)


def test_truncated_private_key_is_found_to_the_end_of_its_body() -> None:
    body = G.b64(90)
    text = f"log: -----BEGIN PRIVATE KEY-----\n{body}"
    kind, found = only(text)
    assert kind == "private-key"
    assert found == f"-----BEGIN PRIVATE KEY-----\n{body}"


def test_a_begin_line_alone_is_not_a_key() -> None:
    assert find_secrets('if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):') == []


def test_har_and_otlp_shapes() -> None:
    jwt, pw, cookie = G.jwt(), G.password(), G.s(32)
    har = json.dumps(
        {"name": "Authorization", "value": f"Bearer {jwt}"}, indent=2
    )  # pretty-printed, as HAR files are
    assert only(har) == ("jwt", jwt)
    otlp = json.dumps({"key": "db.password", "value": {"stringValue": pw}})
    assert only(otlp) == ("generic-credential", pw)
    cookies = json.dumps(
        {"cookies": [{"name": "theme", "value": "dark"}, {"name": "sid", "value": cookie}]}
    )
    assert only(cookies) == ("session-cookie", cookie)


def test_escaped_json_inside_json() -> None:
    pw = G.password().replace("\\", "")
    inner = json.dumps({"password": pw})
    outer = json.dumps({"msg": inner})
    assert '\\"password\\"' in outer
    kind, text = only(outer)
    assert kind == "generic-credential"
    assert text == json.dumps(pw)[1:-1]


def test_set_cookie_reports_the_session_value_only() -> None:
    value = G.s(32, HEX)
    line = f"Set-Cookie: JSESSIONID={value}; Path=/; Secure; HttpOnly"
    assert only(line) == ("session-cookie", value)


def test_authorization_token_scheme() -> None:
    token = G.s(40, HEX)
    assert only(f"Authorization: Token {token}") == ("bearer-credential", token)


# -- overlaps --------------------------------------------------------------------------


def test_the_most_specific_kind_wins() -> None:
    jwt, gh = G.jwt(), "ghp_" + G.s(36)
    assert only(f"Authorization: Bearer {jwt}") == ("jwt", jwt)
    assert only(f"password={gh}") == ("github-token", gh)
    assert only(f"https://x-access-token:{gh}@github.com/a/b.git") == ("github-token", gh)


def test_resolve_overlaps() -> None:
    found = [
        Found("generic-credential", 0, 10),
        Found("jwt", 2, 8),
        Found("session-cookie", 20, 30),
        Found("session-cookie", 25, 40),  # same priority: the longer one wins
        Found("jwt", 50, 60),
    ]
    assert resolve_overlaps(found) == [
        Found("jwt", 2, 8),
        Found("session-cookie", 25, 40),
        Found("jwt", 50, 60),
    ]


# -- traps -----------------------------------------------------------------------------

TRAPS = [
    "request_id=550e8400-e29b-41d4-a716-446655440000",
    '{"token": "550e8400-e29b-41d4-a716-446655440000"}',
    f"commit {G.s(40, HEX)} deployed",
    f"digest: sha256:{G.s(64, HEX)}",
    f"trace_id={G.s(32, HEX)} span_id={G.s(16, HEX)}",
    G.pem("PUBLIC KEY"),
    G.pem("CERTIFICATE"),
    f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{G.s(43, B64)} ci@host",
    "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "password=********",
    "token: xxxxxxxxxxxxxxxx",
    "secret=<redacted>",
    '{"api_key": "[REDACTED]"}',
    "api_key=[REDACTED:generic-credential:1a2b3c4d]",
    "value [REDACTED:secret:1a2b3c4d] and [REDACTED:session-cookie:0f0f0f0f]",
    "DB_PASSWORD=${DB_PASSWORD}",
    "password: $DB_PASSWORD",
    "token={{ api_token }}",
    "password=%(password)s",
    "password: changeme",
    'password = "password"',
    "password=aaaaaaaaaa",
    "password=abababababab",
    "secret: 123456789012",
    "token_count=1234 max_tokens=4096",
    "secret_name: db-credentials",
    "password_reset_required=true",
    "tokenizer=cl100k_base",
    f'{{"next_page_token": "{G.s(40)}"}}',
    '{"token_type": "Bearer", "expires_in": 3600}',
    'WWW-Authenticate: Bearer realm="api", error="invalid_token"',
    "GET https://example.com:8443/health",
    "ssh://git@github.com/acme/app.git",
    f"pk_live_{G.s(24)}",
    f"Cookie: theme=dark; csrftoken={G.s(32)}",
    "user=bob password= status=200",
    "password: 2024-05-01T12:00:00Z",
    f"ghp_{'x' * 36}",
    "Authorization: Basic aGVsbG8=",  # "hello": no colon, not a credential pair
    "passwordless login enabled for tokenless clients",
]


@pytest.mark.parametrize("text", TRAPS, ids=lambda t: t[:30])
def test_traps_are_not_reported(text: str) -> None:
    assert find_secrets(text) == []


# -- inputs and offsets ----------------------------------------------------------------


def test_str_offsets_with_non_ascii_text() -> None:
    gh = "ghp_" + G.s(36)
    text = f"usuário «ação» 🔑 token {gh} fin"
    assert only(text) == ("github-token", gh)
    raw = text.encode()
    (f,) = find_secrets_bytes(raw)
    assert raw[f.start : f.end] == gh.encode()


def test_lone_surrogates_do_not_crash() -> None:
    gh = "ghp_" + G.s(36)
    assert only(f"\ud800 {gh}") == ("github-token", gh)


def test_buffer_types_agree(tmp_path: Path) -> None:
    gh, pw = "ghp_" + G.s(36), G.password()
    data = f"a\n{gh}\npassword={pw}\n".encode()
    expected = find_secrets_bytes(data)
    assert [data[f.start : f.end] for f in expected] == [gh.encode(), pw.encode()]
    assert find_secrets_bytes(bytearray(data)) == expected
    assert find_secrets_bytes(memoryview(data)) == expected
    path = tmp_path / "f"
    path.write_bytes(data)
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        assert find_secrets_bytes(m) == expected


@pytest.mark.parametrize("shift", [-40, -4, -3, -1, 0, 1, 3])
def test_secrets_across_a_chunk_boundary(shift: int) -> None:
    """Anchors and secrets that straddle the probes' chunk boundary are found once."""
    gh, pw = "ghp_" + G.s(36), G.password()
    secret_line = f" {gh} password={pw} "
    data = b"." * (_CHUNK + shift) + secret_line.encode() + b"." * 100
    found = find_secrets_bytes(data)
    assert [(f.kind, data[f.start : f.end]) for f in found] == [
        ("github-token", gh.encode()),
        ("generic-credential", pw.encode()),
    ]


def test_secrets_at_both_ends_of_the_input() -> None:
    gh1, gh2 = "ghp_" + G.s(36), "ghp_" + G.s(36)
    assert [f.kind for f in find_secrets(f"{gh1} {gh2}")] == ["github-token"] * 2
    assert find_secrets("") == []
    assert find_secrets_bytes(b"") == []


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=600)
    | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_any_input_gives_sorted_disjoint_spans(data: bytes) -> None:
    found = find_secrets_bytes(data)
    assert all(f.kind in KINDS and 0 <= f.start < f.end <= len(data) for f in found)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=ALNUM + "=:_-./ \"'\n{}[],;&?@", max_size=400))
def test_keyword_soup_does_not_crash(text: str) -> None:
    for prefix in ("password=", "Authorization: Bearer ", "Cookie: ", "https://a:", "eyJ"):
        for f in find_secrets(prefix + text):
            assert 0 <= f.start < f.end <= len(prefix + text)


# -- filters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [b"****", b"xxxxxxxx", b"${VAR}", b"$VAR", b"{{ x }}", b"%(name)s", b"%s", b"<token>",
     b"[REDACTED]", b"[redacted:jwt]", b"changeme", b"password", b"null", b"your-api-key",
     b"EXAMPLEKEY123"],
)  # fmt: skip
def test_placeholders(value: bytes) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize("value", [b"hunter2", b"S3cr3t!xyz", b"ghp_abc", b"token123456"])
def test_not_placeholders(value: bytes) -> None:
    assert not is_placeholder(value)


def test_shannon_entropy() -> None:
    assert shannon_entropy(b"") == 0.0
    assert shannon_entropy(b"aaaa") == 0.0
    assert shannon_entropy(b"abcd") == 2.0
    assert shannon_entropy(bytes(range(256))) == 8.0


@pytest.mark.parametrize(
    "data",
    [
        b"Cookie: " + b"session=" * 20_000,
        b"-----BEGIN PRIVATE KEY-----" * 5_000,
        b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n" * 3_000,
        b'"cookies": [' * 10_000,
        b"eyJ" * 30_000,
        b"Bearer " * 20_000,
        b"AKIA" * 30_000,
        b":/" * 50_000,
    ],
    ids=lambda d: d[:12].decode(),
)
def test_repetitive_hostile_input_is_handled(data: bytes) -> None:
    """Anchors repeated back to back: each hit inside the previous match is skipped and
    every search is bounded, so these finish (quickly) with nothing to report."""
    assert find_secrets_bytes(data) == []
