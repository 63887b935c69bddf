"""URL parameter masking, credential header attributes, and `safe_header_capture`."""

from __future__ import annotations

import re

import pytest

from cryptorails.redact import RedactionPolicy, safe_header_capture
from cryptorails.redact._http import is_credential_header_attribute, redact_url

KEY = bytes(range(32))
POLICY = RedactionPolicy(fingerprint_key=KEY)
SANITIZE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"
SERVER_REQUEST = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST"
SERVER_RESPONSE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_RESPONSE"
CLIENT_REQUEST = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST"
CLIENT_RESPONSE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_RESPONSE"
CREDENTIAL_HEADERS = ["Authorization", "proxy-authorization", "Cookie", "set-cookie", "SET_COOKIE"]


def q(value: str) -> str:
    return f"[REDACTED:query-param:{POLICY.fingerprint(value)}]"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example/p", "https://a.example/p"),
        ("https://a.example/p?x=1&y=2", "https://a.example/p?x=1&y=2"),
        (
            "https://a.example/p?access_token=T1&x=1",
            f"https://a.example/p?access_token={q('T1')}&x=1",
        ),
        ("/p?ID_TOKEN=T2", f"/p?ID_TOKEN={q('T2')}"),
        ("/p?refresh_token=T3;code=C", f"/p?refresh_token={q('T3')};code={q('C')}"),
        ("/p?access%5Ftoken=T4", f"/p?access%5Ftoken={q('T4')}"),
        ("/p?token=a%2Bb", f"/p?token={q('a+b')}"),
        (
            "/p?X-Amz-Credential=AK%2F1&X-Amz-Signature=S",
            f"/p?X-Amz-Credential={q('AK/1')}&X-Amz-Signature={q('S')}",
        ),
        (
            "/p?X-Goog-Signature=G&key=K&apikey=A&api_key=B",
            f"/p?X-Goog-Signature={q('G')}&key={q('K')}&apikey={q('A')}&api_key={q('B')}",
        ),
        (
            "/p?client_secret=CS&password=PW&signature=SG&sig=S2",
            f"/p?client_secret={q('CS')}&password={q('PW')}&signature={q('SG')}&sig={q('S2')}",
        ),
        # the policy's name rule applies to parameter names too
        ("/p?db_password=PW2&session_id=SI", f"/p?db_password={q('PW2')}&session_id={q('SI')}"),
        # empty values and bare names stay
        ("/p?token=&code&x", "/p?token=&code&x"),
        # the fragment (OAuth implicit flow)
        (
            "https://a.example/cb#access_token=T5&token_type=bearer",
            f"https://a.example/cb#access_token={q('T5')}&token_type=bearer",
        ),
        ("https://a.example/p#section-2", "https://a.example/p#section-2"),
        # userinfo password
        (
            "postgres://app:s3cret@db:5432/x",
            f"postgres://app:[REDACTED:url-password:{POLICY.fingerprint('s3cret')}]@db:5432/x",
        ),
        ("https://user@a.example/", "https://user@a.example/"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(POLICY, url) == expected


def test_redact_query_only() -> None:
    assert redact_url(POLICY, "a=1&code=X", query_only=True) == f"a=1&code={q('X')}"
    assert redact_url(POLICY, "", query_only=True) == ""


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("http.request.header.authorization", True),
        ("HTTP.REQUEST.HEADER.AUTHORIZATION", True),
        ("http.request.header.proxy_authorization", True),
        ("http.response.header.set-cookie", True),
        ("http.response.header.cookie", True),
        ("http.request.header.accept", False),
        ("http.request.header.authorization_hint", False),
        ("authorization", False),
        ("http.request.method", False),
    ],
)
def test_credential_header_attributes(key: str, expected: bool) -> None:
    assert is_credential_header_attribute(key) is expected


def captured(capture: str, header: str) -> bool:
    """How opentelemetry-util-http decides capture: the joined list, fullmatch, any case."""
    entries = [e.strip() for e in capture.split(",") if e.strip()]
    if not entries:
        return False
    return re.compile("|".join(entries), re.IGNORECASE).fullmatch(header) is not None


def sanitized(fields: str, header: str) -> bool:
    """How opentelemetry-util-http decides sanitising: the joined list, search, any case."""
    entries = [e.strip() for e in fields.split(",")]
    return re.compile("|".join(entries), re.IGNORECASE).search(header) is not None


def test_safe_header_capture_on_an_empty_environment() -> None:
    env: dict[str, str] = {}
    changed = safe_header_capture(env)
    assert changed == {SANITIZE: "authorization,proxy-authorization,cookie,set-cookie"}
    assert env == changed
    for header in CREDENTIAL_HEADERS:
        assert sanitized(env[SANITIZE], header)
    assert safe_header_capture(env) == {}  # idempotent


def test_safe_header_capture_merges_sanitize_fields() -> None:
    env = {SANITIZE: "x-session-token, Authorization"}
    changed = safe_header_capture(env)
    assert changed == {
        SANITIZE: "x-session-token,Authorization,proxy-authorization,cookie,set-cookie"
    }
    assert env[SANITIZE] == changed[SANITIZE]


def test_safe_header_capture_narrows_capture_lists() -> None:
    env = {
        SERVER_REQUEST: ".*",
        SERVER_RESPONSE: "content-type,Set-Cookie,x-request-id",
        CLIENT_REQUEST: "auth.*,accept",
        CLIENT_RESPONSE: "content-type",
    }
    changed = safe_header_capture(env)
    assert set(changed) == {SANITIZE, SERVER_REQUEST, SERVER_RESPONSE, CLIENT_REQUEST}
    assert env[SERVER_RESPONSE] == "content-type,x-request-id"
    assert env[CLIENT_RESPONSE] == "content-type"
    for variable in (SERVER_REQUEST, SERVER_RESPONSE, CLIENT_REQUEST, CLIENT_RESPONSE):
        for header in CREDENTIAL_HEADERS:
            assert not captured(env[variable], header), (variable, header)
    # What was captured before and is not a credential still is.
    assert captured(env[SERVER_REQUEST], "x-request-id")
    assert captured(env[SERVER_REQUEST], "authorization-hint")
    assert captured(env[SERVER_REQUEST], "cookie2")
    assert captured(env[CLIENT_REQUEST], "authentication-info")
    assert captured(env[CLIENT_REQUEST], "accept")
    assert not captured(env[CLIENT_REQUEST], "content-type")
    assert safe_header_capture(env) == {}


def test_safe_header_capture_leaves_invalid_patterns_alone() -> None:
    env = {
        SERVER_REQUEST: "x-(unclosed",
        SANITIZE: "authorization,proxy-authorization,cookie,set-cookie",
    }
    assert safe_header_capture(env) == {}
    assert env[SERVER_REQUEST] == "x-(unclosed"


def test_safe_header_capture_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.delenv(SANITIZE, raising=False)
    monkeypatch.setenv(SERVER_REQUEST, "cookie")
    changed = safe_header_capture()
    assert changed[SERVER_REQUEST] == ""
    assert os.environ[SERVER_REQUEST] == ""
    assert "cookie" in os.environ[SANITIZE]
