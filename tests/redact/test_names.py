"""The name rule: normalisation, the deny list, the allowlist."""

from __future__ import annotations

import pytest

from cryptorails.redact import DEFAULT_ALLOW_NAMES, RedactionPolicy, normalize_name
from cryptorails.redact._names import NameRules, name_words

POLICY = RedactionPolicy()


@pytest.mark.parametrize(
    ("name", "normalized"),
    [
        ("X-Api-Key", "x_api_key"),
        ("x_api_key", "x_api_key"),
        ("xApiKey", "x_api_key"),
        ("APIKey", "api_key"),
        ("authToken", "auth_token"),
        ("HTTP_AUTHORIZATION", "http_authorization"),
        ("http.request.header.set-cookie", "http_request_header_set_cookie"),
        ("oauth2Token", "oauth_2_token"),
        ("  ", ""),
        ("naïve_key", "na_ve_key"),
    ],
)
def test_normalize_name(name: str, normalized: str) -> None:
    assert normalize_name(name) == normalized


@pytest.mark.parametrize(
    "name",
    [
        # Sentry's and Datadog's default scrubbing names
        "password",
        "passwd",
        "secret",
        "api_key",
        "apikey",
        "auth",
        "credentials",
        "mysql_pwd",
        "privatekey",
        "private_key",
        "token",
        "session",
        "csrftoken",
        "sessionid",
        "x_csrftoken",
        "set_cookie",
        "cookie",
        "authorization",
        "x_api_key",
        "aiohttp_session",
        "connect.sid",
        "csrf_token",
        "_csrf",
        "PHPSESSID",
        "XSRF-TOKEN",
        "pass_phrase",
        "access_key_id",
        "consumer_secret",
        "signature",
        "authentication",
        # containment and casing
        "db_password",
        "X-Api-Key",
        "authToken",
        "AccessToken",
        "accesstoken",
        "clientSecret",
        "client_secret",
        "refresh_token",
        "jwt",
        "bearer",
        "Bearer",
        "passphrase",
        "pin",
        "ssn",
        "credit_card",
        "cardNumber",
        "cvv",
        "otp_code",
        "AccountKey",
        "ssh_private_key_path",
        "DATABASE_PASSWORD",
        "userPasswordHash",
        "http.request.header.proxy-authorization",
    ],
)
def test_denied_names(name: str) -> None:
    assert POLICY.denies_name(name), name


@pytest.mark.parametrize(
    "name",
    [
        # allowlisted: contain a deny word, hold no secret
        "token_type",
        "tokens_used",
        "tokenType",
        "password_changed_at",
        "session_count",
        "prompt_tokens",
        "auth_method",
        # no deny word at all
        "key_id",
        "kid",
        "author",
        "passenger",
        "tokenizer",
        "secretary",
        "keyboard",
        "user",
        "event",
        "oauth",
        "ping",
        "spin",
        "",
    ],
)
def test_allowed_names(name: str) -> None:
    assert not POLICY.denies_name(name), name


def test_allowlist_is_exact_not_containment() -> None:
    assert not POLICY.denies_name("token_type")
    assert POLICY.denies_name("token_type_secret")
    assert POLICY.denies_name("my_token_type")


def test_extra_deny_and_allow_names() -> None:
    policy = RedactionPolicy(deny_names=["license", "x-internal-auth"], allow_names=["pin_length"])
    assert policy.denies_name("license")
    assert policy.denies_name("product_license_id")
    assert policy.denies_name("X-Internal-Auth-Header")
    assert not policy.denies_name("x_internal")
    assert not policy.denies_name("pin_length")
    assert policy.denies_name("pin")
    assert not RedactionPolicy().denies_name("license")


def test_bad_name_arguments() -> None:
    with pytest.raises(TypeError, match="not one str"):
        RedactionPolicy(deny_names="password")
    with pytest.raises(TypeError, match="deny names must be str"):
        RedactionPolicy(deny_names=[b"x"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="allow names must be str"):
        RedactionPolicy(allow_names=[1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="no letters or digits"):
        RedactionPolicy(deny_names=["--"])
    with pytest.raises(TypeError, match="name must be a str"):
        POLICY.denies_name(1)  # type: ignore[arg-type]


def test_every_default_allow_name_is_normalized_and_needed() -> None:
    # Each entry is written in normalised form and would be denied without the allowlist.
    bare = NameRules(
        ["password", "token", "tokens", "session", "auth", "authentication", "signature", "secret"],
        [],
    )
    for name in DEFAULT_ALLOW_NAMES:
        assert normalize_name(name) == name
        assert bare.denied(name), name


def test_long_hostile_names_are_bounded() -> None:
    name = "a" * 10_000 + "_password"
    assert len(name_words(name)) == 1  # only the first 256 characters count
    assert not POLICY.denies_name(name)
    assert POLICY.denies_name("password_" + "a" * 10_000)


def test_name_cache_is_bounded() -> None:
    rules = NameRules(["password"], [])
    for i in range(5000):
        rules.denied(f"field_{i}")
    assert len(rules._cache) <= 4096
    assert rules.denied("password")
