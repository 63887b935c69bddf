"""structlog: `RedactProcessor` inside a real pipeline."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import structlog
from structlog.testing import CapturingLogger

from cryptorails import Secret
from cryptorails.redact import Claims, RedactionPolicy, RedactProcessor

from .helpers import make_jwt

KEY = bytes(range(32))
POLICY = RedactionPolicy(fingerprint_key=KEY)


def logger(*processors: Any) -> tuple[Any, CapturingLogger]:
    capture = CapturingLogger()
    log = structlog.wrap_logger(
        capture, processors=list(processors), cache_logger_on_first_use=False
    )
    return log, capture


def test_event_fields_are_redacted_before_rendering() -> None:
    jwt = make_jwt()
    log, capture = logger(
        RedactProcessor(POLICY), structlog.processors.JSONRenderer(sort_keys=True)
    )
    log.info(f"got {jwt}", user="bob", password="hunter2", claims=Claims({"sub": "bob"}))
    (call,) = capture.calls
    assert json.loads(call.args[0]) == {
        "event": f"got [REDACTED:jwt:{POLICY.fingerprint(jwt)}]",
        "user": "bob",
        "password": f"[REDACTED:name:{POLICY.fingerprint('hunter2')}]",
        "claims": "[REDACTED:claims]",
    }


def test_the_callers_nested_objects_are_not_mutated() -> None:
    jwt = make_jwt()
    request = {"headers": {"Authorization": f"Bearer {jwt}", "Accept": "*/*"}, "ids": [1, 2]}
    kept = copy.deepcopy(request)
    log, capture = logger(RedactProcessor(POLICY))
    log.info("request", request=request)
    assert request == kept
    (call,) = capture.calls
    logged = call.kwargs["request"]
    assert logged == {
        "headers": {
            "Authorization": f"[REDACTED:name:{POLICY.fingerprint('Bearer ' + jwt)}]",
            "Accept": "*/*",
        },
        "ids": [1, 2],
    }
    assert logged is not request
    assert logged["headers"] is not request["headers"]


def test_bound_context_is_redacted_and_stays_intact() -> None:
    log, capture = logger(RedactProcessor(POLICY))
    bound = log.bind(session_id="s-123456789", tenant="acme")
    bound.info("hello")
    assert capture.calls[0].kwargs == {
        "event": "hello",
        "session_id": f"[REDACTED:name:{POLICY.fingerprint('s-123456789')}]",
        "tenant": "acme",
    }
    assert bound._context == {"session_id": "s-123456789", "tenant": "acme"}


def test_exception_formatted_before_the_processor() -> None:
    jwt = make_jwt()
    log, capture = logger(
        structlog.processors.format_exc_info,
        RedactProcessor(POLICY),
        structlog.processors.KeyValueRenderer(),
    )
    try:
        raise ValueError(f"bad {jwt}")
    except ValueError:
        log.exception("failed")
    rendered = capture.calls[0].args[0]
    assert jwt not in rendered
    assert f"ValueError: bad [REDACTED:jwt:{POLICY.fingerprint(jwt)}]" in rendered


def test_raw_exc_info_is_formatted_and_redacted() -> None:
    jwt = make_jwt()
    log, capture = logger(RedactProcessor(POLICY))
    try:
        raise RuntimeError(jwt)
    except RuntimeError as e:
        log.error("failed", exc_info=e)
        log.error("again", exc_info=True)
    first, second = (c.kwargs for c in capture.calls)
    assert "exc_info" not in first
    assert first["exception"].startswith("Traceback (most recent call last):")
    assert first["exception"].endswith(f"RuntimeError: [REDACTED:jwt:{POLICY.fingerprint(jwt)}]")
    assert second["exception"] == first["exception"]
    log.info("no exception", exc_info=False)
    assert "exception" not in capture.calls[-1].kwargs


def test_secret_values_and_meta_keys() -> None:
    processor = RedactProcessor(POLICY)
    record = object()
    out = processor(None, "info", {"event": "x", "key": Secret(b"s" * 32), "_record": record})
    assert out == {
        "event": "x",
        "key": f"[REDACTED:secret:{POLICY.fingerprint(b's' * 32)}]",
        "_record": record,
    }


def test_processor_failure_shows_nothing() -> None:
    class Exploding(RedactionPolicy):
        __slots__ = ()

        def redact(self, value: object, name: str | None = None) -> object:
            raise RuntimeError("bug")

    out = RedactProcessor(Exploding())(None, "info", {"event": "pw", "_from_structlog": True})
    assert out == {"event": "[REDACTION FAILED]", "_from_structlog": True}


def test_processor_configuration() -> None:
    assert isinstance(RedactProcessor().policy, RedactionPolicy)
    assert RedactProcessor(POLICY).policy is POLICY
    with pytest.raises(TypeError, match="policy must be a RedactionPolicy"):
        RedactProcessor("nope")  # type: ignore[arg-type]
