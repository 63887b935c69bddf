"""Observability rules (CR1001-CR1003): shapes the fixtures do not show, and the traps
that must stay quiet."""

from __future__ import annotations

from textwrap import dedent

import pytest

from cryptorails.audit import all_rules
from cryptorails.audit.rules import cr1003_verification_flag_without_expiry as cr1003
from cryptorails.audit.rules._observability import captured_credentials

from .conftest import run


def lines(source: str, code: str, path: str = "snippet.py") -> list[int]:
    return [f.line for f in run(dedent(source), code, path=path)]


# -- capture lists ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "sanitized", "leaked"),
    [
        ([".*"], [], ["authorization", "proxy-authorization", "cookie", "set-cookie"]),
        ([".*"], ["authorization", ".*cookie"], ["proxy-authorization"]),
        (["content-type", "AUTHORIZATION"], [], ["authorization"]),
        (["auth.*"], [], ["authorization"]),
        (["x-.*", "content-type"], [], []),
        (["X-Api-Key"], [], ["x-api-key"]),
        (["X-Api-Key"], ["x-api-key"], []),
        (["[unclosed"], [], []),
        ([" ", ""], [], []),
    ],
)
def test_captured_credentials(entries: list[str], sanitized: list[str], leaked: list[str]) -> None:
    assert captured_credentials(entries, sanitized) == leaked


# -- CR1001 header-capture-includes-credentials -------------------------------------------

CONSTANT_THROUGH_NAME = """
    import os
    CAPTURE_ALL = ".*"
    os.environ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST"] = CAPTURE_ALL
"""

ENV_UPDATE_KEYWORDS = """
    import os
    os.environ.update(OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_RESPONSE="Set-Cookie")
"""

DATADOG_ENV = """
    import os
    os.environ["DD_TRACE_HEADER_TAGS"] = "User-Agent:http.ua,Authorization:http.auth"
"""

ASGI_SCOPE_HEADERS = """
    def server_request_hook(span, scope):
        span.set_attribute("asgi.headers", repr(scope["headers"]))
"""

SENTRY_CONTEXT = """
    import sentry_sdk

    def before_request(request):
        sentry_sdk.set_context("http", {"headers": dict(request.headers)})
"""

COOKIES_EVENT = """
    def on_request(span, request):
        span.add_event("request", attributes={"cookies": str(request.cookies)})
"""

OPENTRACING_HEADER_ITEM = """
    def tag(span, request):
        span.set_tag("proxy_auth", request.headers["Proxy-Authorization"])
"""


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (CONSTANT_THROUGH_NAME, 4),
        (ENV_UPDATE_KEYWORDS, 3),
        (DATADOG_ENV, 3),
        (ASGI_SCOPE_HEADERS, 3),
        (SENTRY_CONTEXT, 5),
        (COOKIES_EVENT, 3),
        (OPENTRACING_HEADER_ITEM, 3),
    ],
)
def test_cr1001_flags(source: str, line: int) -> None:
    assert lines(source, "CR1001") == [line]


CR1001_QUIET = [
    # Sanitized by the environment elsewhere in the module.
    """
    import os
    os.environ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST"] = ".*"
    os.environ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"] = ".*"
    """,
    # Application headers only.
    """
    import os
    os.environ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST"] = "x-.*,content-type"
    """,
    # Reading the capture setting is not setting it.
    """
    import os
    capture = os.environ.get("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", "")
    """,
    # A span attribute that only says whether a header was present.
    """
    def hook(span, request):
        span.set_attribute("http.has_authorization", "Authorization" in request.headers)
    """,
    # Masked values.
    """
    def hook(span, request):
        span.set_attribute("http.request.header.authorization", "[REDACTED]")
    """,
    # Response status, not headers.
    """
    def hook(span, response):
        span.set_attribute("http.status_code", response.status_code)
        span.set_tag("content_type", response.headers.get("Content-Type"))
    """,
    # Datadog: harmless headers only.
    """
    from ddtrace import config
    config.trace_headers(["user-agent", "x-request-id"])
    """,
    # Unrelated dictionaries with upper-case keys.
    """
    STATUS = {"OK": 200, "AUTHORIZATION_FAILED": 401}
    """,
]


@pytest.mark.parametrize("source", CR1001_QUIET)
def test_cr1001_quiet(source: str) -> None:
    assert lines(source, "CR1001") == []


# -- CR1002 send-default-pii --------------------------------------------------------------


def test_cr1002_client_and_alias() -> None:
    source = """
    from sentry_sdk import Client
    client = Client("https://key@o0.ingest.sentry.io/0", send_default_pii=True)
    """
    (finding,) = run(dedent(source), "CR1002")
    assert (finding.line, finding.column) == (3, 71)


CR1002_QUIET = [
    # Another SDK's flag with the same name is not Sentry's.
    """
    import othersdk
    othersdk.init(send_default_pii=True)
    """,
    # An options dict that does not turn it on.
    """
    import sentry_sdk
    OPTIONS = {"dsn": "https://key@o0.ingest.sentry.io/0", "send_default_pii": False}
    sentry_sdk.init(**OPTIONS)
    """,
    # Scrubbed by a cryptorails.redact hook.
    """
    import sentry_sdk
    from cryptorails.redact import sentry_before_send
    sentry_sdk.init(send_default_pii=True, before_send=sentry_before_send)
    """,
]


@pytest.mark.parametrize("source", CR1002_QUIET)
def test_cr1002_quiet(source: str) -> None:
    assert lines(source, "CR1002") == []


def test_cr1002_before_send_that_keeps_headers_still_flags() -> None:
    source = """
    import sentry_sdk

    def tag_release(event, hint):
        event["release"] = "1.2.3"
        return event

    sentry_sdk.init(send_default_pii=True, before_send=tag_release)
    """
    assert lines(source, "CR1002") == [8]


# -- CR1003 verification-flag-without-expiry ----------------------------------------------

CR1003_FLAGGED = [
    "NO_VERIFY = True",
    "DANGEROUSLY_DISABLE_AUTH = True",
    "ACCEPT_INVALID_CERTS = True",
    "SSL_VERIFY = False",
    "VERIFY = False",
    "check_hostname_enabled = False",
    "webhookSignatureRequired = False",
    "BYPASS_HMAC = True",
    "IGNORE_EXPIRED_TOKENS = True",
]


@pytest.mark.parametrize("assignment", CR1003_FLAGGED)
def test_cr1003_flags(assignment: str) -> None:
    assert lines(assignment + "\n", "CR1003") == [1]


CR1003_QUIET = [
    "VERIFY_SSL = True",
    "DISABLE_SIGNATURE_VERIFICATION = False",
    "ALLOW_ANONYMOUS_READ = True",
    "SKIP_CHECKS = True",
    "CSRF_COOKIE_SECURE = False",
    "VERIFY_SSL_CA_BUNDLE = False",
    "SKIP_TOKEN_REFRESH = True",
    "USE_TLS = False",
    "is_verified = False",
    "VERIFY_SSL = None",
    "SKIP_WEBHOOK_VERIFY = 'yes'",
]


@pytest.mark.parametrize("assignment", CR1003_QUIET)
def test_cr1003_quiet(assignment: str) -> None:
    assert lines(assignment + "\n", "CR1003") == []


def test_cr1003_skips_test_modules_and_non_settings_classes() -> None:
    flag = "SKIP_WEBHOOK_VERIFY = True\n"
    assert lines(flag, "CR1003", path="tests/test_webhooks.py") == []
    assert lines(flag, "CR1003", path="app/conftest.py") == []
    assert lines(flag, "CR1003", path="app/settings.py") == [1]
    state = """
    class Connection:
        is_verified = False
        tls_required = False
    """
    assert lines(state, "CR1003") == []
    settings = """
    class ProductionSettings:
        TLS_VERIFY = False
    """
    assert lines(settings, "CR1003") == [3]


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("tests/test_webhooks.py", []),
        ("app/webhooks_test.py", []),
        ("app/settings/testing.py", []),
        ("project/tests/settings.py", []),  # test settings: directly in a tests folder
        ("app/settings.py", [1]),
        # Where the checkout lives says nothing about the module.
        ("/home/ci/test/checkout/app/settings.py", [1]),
        ("/srv/tests/builds/service/config.py", [1]),
        ("app/latest.py", [1]),
        ("app/ab_testing.py", [1]),
        ("app/tests.py", []),
    ],
)
def test_cr1003_test_modules_by_their_own_name_and_folder(path: str, found: list[int]) -> None:
    assert lines("SKIP_WEBHOOK_VERIFY = True\n", "CR1003", path=path) == found


def test_cr1003_skips_modules_importing_a_test_framework() -> None:
    source = """
    import pytest

    INSECURE = True
    """
    assert lines(source, "CR1003", path="app/fixtures/settings.py") == []
    assert lines(source.replace("pytest", "pydantic"), "CR1003", path="app/settings.py") == [4]


def test_cr1003_prefilter_words_cover_every_check_word() -> None:
    # The prefilter must be a necessary condition: every word that can make a name a
    # switched-off check contains one of the words of its second group.
    stems = [w.decode() for w in all_rules()["CR1003"].requires[1]]
    vocabulary = (
        cr1003._CHECKS
        | cr1003._UNCHECKED
        | cr1003._BAD_INPUTS
        | cr1003._VERIFY_WORDS
        | cr1003._CRYPTO_CHECKS
        | {"signed"}  # "allow self signed"
    )
    assert [w for w in sorted(vocabulary) if not any(s in w for s in stems)] == []


def test_cr1003_inline_options_are_use_sites() -> None:
    source = """
    import jwt

    def read(token, key):
        return jwt.decode(token, key, algorithms=["HS256"], options={"verify_signature": False})
    """
    assert lines(source, "CR1003") == []


def test_cr1003_environment_set_in_code() -> None:
    source = """
    import os
    os.environ["JWT_VERIFY"] = "false"
    os.environ.setdefault("SKIP_SIGNATURE_VALIDATION", "true")
    os.environ["VERIFY_SSL"] = "true"
    """
    assert lines(source, "CR1003") == [3, 4]


def test_cr1001_trusts_cryptorails_redaction_in_the_module() -> None:
    env = """
    import os
    from cryptorails.redact import safe_header_capture
    os.environ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST"] = ".*"
    safe_header_capture()
    """
    assert lines(env, "CR1001") == []
    # safe_header_capture() edits the environment, not instrumentor arguments.
    kwargs = (
        env
        + """
    FastAPIInstrumentor.instrument_app(app, http_capture_headers_server_request=[".*"])
    """
    )
    assert lines(kwargs, "CR1001") == [7]
    exporter = """
    import cryptorails.redact
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    def setup(provider, exporter):
        wrapped = cryptorails.redact.RedactingSpanExporter(exporter)
        provider.add_span_processor(BatchSpanProcessor(wrapped))

    def hook(span, request):
        span.set_attribute("http.request.headers", str(dict(request.headers)))
    """
    assert lines(exporter, "CR1001") == []


def test_cr1001_presence_tests_and_cookies() -> None:
    source = """
    def hook(span, request):
        span.set_attribute("http.request.cookie", request.cookies.get("session"))
        span.set_attribute("app.theme", request.cookies.get("theme"))
        span.set_attribute("client.has_token", bool(request.headers.get("X-Auth-Token")))
        span.set_attribute("auth", request.headers.get("Authorization") or "")
    """
    assert lines(source, "CR1001") == [3, 6]


def test_cr1001_credential_header_keys_without_the_word_header() -> None:
    source = """
    def hook(span, api_key, token):
        span.set_attribute("x-api-key", api_key)
        span.set_tag("X_AUTH_TOKEN", token)
        span.set_attribute("x-request-id", token)
    """
    assert lines(source, "CR1001") == [3, 4]
