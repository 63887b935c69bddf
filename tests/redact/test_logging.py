"""stdlib logging: `RedactingFilter` and `install`, with real loggers and handlers."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator

import pytest

from cryptorails import ConfigurationError, Secret
from cryptorails.redact import Plaintext, RedactingFilter, RedactionPolicy, install

from .helpers import make_jwt

KEY = bytes(range(32))
POLICY = RedactionPolicy(fingerprint_key=KEY)
FORMAT = "%(levelname)s %(message)s"


class Setup:
    def __init__(
        self, logger: logging.Logger, stream: io.StringIO, handler: logging.Handler
    ) -> None:
        self.logger, self.stream, self.handler = logger, stream, handler

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()


@pytest.fixture
def log() -> Iterator[Setup]:
    logger = logging.getLogger(f"test.redact.{uuid.uuid4().hex}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    install(POLICY, logger)
    yield Setup(logger, stream, handler)
    logger.removeHandler(handler)


def jwt_mask(jwt: str) -> str:
    return f"[REDACTED:jwt:{POLICY.fingerprint(jwt)}]"


def test_message_text(log: Setup) -> None:
    jwt = make_jwt()
    log.logger.info(f"token is {jwt}")
    log.logger.info("nothing secret here, 100%")
    assert log.lines() == [f"INFO token is {jwt_mask(jwt)}", "INFO nothing secret here, 100%"]


def test_percent_args(log: Setup) -> None:
    jwt = make_jwt()
    log.logger.warning("user %s sent %s (%d tries)", "alice", jwt, 3)
    assert log.lines() == [f"WARNING user alice sent {jwt_mask(jwt)} (3 tries)"]


def test_secret_straddling_template_and_argument(log: Setup) -> None:
    token = "q3Zx9LmT2vKp8sRw"
    log.logger.error("Authorization failed for Bearer %s", token)
    mask = f"[REDACTED:bearer-credential:{POLICY.fingerprint(token)}]"
    assert log.lines() == [f"ERROR Authorization failed for Bearer {mask}"]


def test_mapping_args_get_the_name_rule(log: Setup) -> None:
    log.logger.info("login %(user)s with %(password)s", {"user": "bob", "password": "hunter2"})
    assert log.lines() == [f"INFO login bob with [REDACTED:name:{POLICY.fingerprint('hunter2')}]"]


def test_secret_plaintext_and_objects_in_args(log: Setup) -> None:
    jwt = make_jwt()

    class Request:
        def __str__(self) -> str:
            return f"<Request auth={jwt}>"

    secret = Secret(b"k" * 32)
    log.logger.info("%s %s %s", secret, Plaintext(b"alice@example.com"), Request())
    assert log.lines() == [
        f"INFO [REDACTED:secret:{POLICY.fingerprint(b'k' * 32)}] "
        f"[REDACTED:plaintext:{POLICY.fingerprint(b'alice@example.com')}] "
        f"<Request auth={jwt_mask(jwt)}>"
    ]


def test_extra_fields_are_redacted(log: Setup) -> None:
    jwt = make_jwt()
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    log.logger.addHandler(keep)
    install(POLICY, log.logger)
    marker = object()
    log.logger.info(
        "event",
        extra={"api_key": "abc123", "note": f"t={jwt}", "nested": {"password": "x"}, "obj": marker},
    )
    log.logger.removeHandler(keep)
    (record,) = records
    assert record.api_key == f"[REDACTED:name:{POLICY.fingerprint('abc123')}]"  # type: ignore[attr-defined]
    assert record.note == f"t={jwt_mask(jwt)}"  # type: ignore[attr-defined]
    assert record.nested == {"password": f"[REDACTED:name:{POLICY.fingerprint('x')}]"}  # type: ignore[attr-defined]
    assert record.obj is marker  # type: ignore[attr-defined]


def test_exception_text_is_redacted(log: Setup) -> None:
    jwt = make_jwt()
    try:
        raise ValueError(f"bad token {jwt}")
    except ValueError:
        log.logger.exception("failed")
    out = log.stream.getvalue()
    assert jwt not in out
    assert f"ValueError: bad token {jwt_mask(jwt)}" in out
    assert out.startswith("ERROR failed\nTraceback (most recent call last):")


def test_exception_cached_text_survives_other_handlers(log: Setup) -> None:
    # A second handler with its own formatter sees exc_info None and the cached,
    # redacted exc_text: it cannot format the raw exception again.
    jwt = make_jwt()
    other = io.StringIO()
    handler = logging.StreamHandler(other)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.logger.addHandler(handler)
    install(POLICY, log.logger)
    try:
        raise RuntimeError(jwt)
    except RuntimeError as e:
        log.logger.error("oops", exc_info=e)
    log.logger.removeHandler(handler)
    assert jwt not in other.getvalue()
    assert jwt not in log.stream.getvalue()
    assert f"RuntimeError: {jwt_mask(jwt)}" in other.getvalue()


def test_stack_info_is_redacted(log: Setup) -> None:
    jwt = make_jwt()
    secret_local = jwt  # noqa: F841 -- appears in the source line of the stack
    log.logger.info("here", stack_info=True)
    out = log.stream.getvalue()
    assert "Stack (most recent call last)" in out
    assert jwt not in out


def test_bad_format_arguments_do_not_leak(log: Setup) -> None:
    jwt = make_jwt()
    log.logger.info("only one %s", "a", jwt)
    assert log.lines() == ["INFO only one %s [arguments do not match the message]"]


def test_non_str_messages(log: Setup) -> None:
    jwt = make_jwt()
    log.logger.info({"password": "hunter2", "t": jwt})
    assert log.lines() == [
        f"INFO {{'password': '[REDACTED:name:{POLICY.fingerprint('hunter2')}]', "
        f"'t': '{jwt_mask(jwt)}'}}"
    ]


def test_filter_returns_true_and_is_idempotent() -> None:
    jwt = make_jwt()
    f = RedactingFilter(POLICY)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "t=%s", (jwt,), None)
    assert f.filter(record) is True
    assert record.getMessage() == f"t={jwt_mask(jwt)}"
    assert record.args == ()
    assert f.filter(record) is True
    assert RedactingFilter(POLICY).filter(record) is True  # another filter, same result
    assert record.getMessage() == f"t={jwt_mask(jwt)}"


def test_redaction_failure_replaces_the_record() -> None:
    class Exploding(RedactionPolicy):
        __slots__ = ()

        def redact_text(self, text: str) -> str:
            raise RuntimeError("detector bug")

    f = RedactingFilter(Exploding())
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "secret %s", ("v",), None)
    record.api_key = "k"
    assert f.filter(record) is True
    assert record.getMessage() == "[REDACTION FAILED]"
    assert record.args == ()
    assert not hasattr(record, "api_key")


def test_default_policy_and_type_checks() -> None:
    assert isinstance(RedactingFilter().policy, RedactionPolicy)
    with pytest.raises(TypeError, match="policy must be a RedactionPolicy"):
        RedactingFilter(object())  # type: ignore[arg-type]


# -- install --------------------------------------------------------------------------


def test_install_on_handlers_catches_propagated_records() -> None:
    parent = logging.getLogger(f"test.install.{uuid.uuid4().hex}")
    child = logging.getLogger(parent.name + ".child")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    parent.addHandler(handler)
    parent.setLevel(logging.INFO)
    try:
        installed = install(POLICY, parent)
        jwt = make_jwt()
        child.info("child says %s", jwt)
        assert stream.getvalue() == f"child says {jwt_mask(jwt)}\n"
        assert handler.filters == [installed]
    finally:
        parent.removeHandler(handler)


def test_install_is_idempotent() -> None:
    logger = logging.getLogger(f"test.install.{uuid.uuid4().hex}")
    h1, h2 = logging.NullHandler(), logging.NullHandler()
    logger.addHandler(h1)
    logger.addHandler(h2)
    first = install(POLICY, logger)
    assert install(None, logger) is first
    assert install(POLICY, logger.name) is first
    assert h1.filters == [first]
    assert h2.filters == [first]
    other = RedactionPolicy()
    replaced = install(other, logger)
    assert replaced is not first
    assert replaced.policy is other
    assert h1.filters == [replaced]
    assert h2.filters == [replaced]


def test_install_needs_handlers() -> None:
    logger = logging.getLogger(f"test.install.{uuid.uuid4().hex}")
    with pytest.raises(ConfigurationError, match="has no handlers"):
        install(POLICY, logger)
    with pytest.raises(TypeError, match="logger must be"):
        install(POLICY, 42)  # type: ignore[arg-type]


def test_install_defaults_to_the_root_logger() -> None:
    root = logging.getLogger()
    handler = logging.NullHandler()
    root.addHandler(handler)
    try:
        installed = install()
        assert installed in handler.filters
    finally:
        root.removeHandler(handler)
        for h in root.handlers:
            h.removeFilter(installed)
