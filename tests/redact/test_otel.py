"""OpenTelemetry: `RedactingSpanExporter` with the real SDK."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, Status, StatusCode

from cryptorails.redact import RedactingSpanExporter, RedactionPolicy

from .helpers import make_jwt

KEY = bytes(range(32))
POLICY = RedactionPolicy(fingerprint_key=KEY)


class Recorder(SpanExporter):
    """Keeps the raw spans too, to check the originals are untouched."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def pipeline() -> tuple[TracerProvider, InMemorySpanExporter, Recorder]:
    memory = InMemorySpanExporter()
    raw = Recorder()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, POLICY)))
    provider.add_span_processor(SimpleSpanProcessor(raw))
    return provider, memory, raw


def fpm(kind: str, value: str) -> str:
    return f"[REDACTED:{kind}:{POLICY.fingerprint(value)}]"


def test_attributes_events_links_and_status_are_redacted() -> None:
    provider, memory, raw = pipeline()
    tracer = provider.get_tracer("test")
    jwt = make_jwt()
    with tracer.start_as_current_span("linked") as other:
        pass
    with tracer.start_as_current_span(
        "work", links=[Link(other.get_span_context(), {"note": jwt})]
    ) as span:
        span.set_attribute("user.id", "u-1")
        span.set_attribute("db.password", "hunter2")
        span.set_attribute("message", f"token {jwt}")
        span.set_attribute("tags", ["a", jwt])
        span.set_attribute("retries", 3)
        span.add_event("auth", {"api_key": "k-123", "count": 2})
        span.set_status(Status(StatusCode.ERROR, f"bad token {jwt}"))
    exported = memory.get_finished_spans()
    assert [s.name for s in exported] == ["linked", "work"]
    work = exported[1]
    assert dict(work.attributes or {}) == {
        "user.id": "u-1",
        "db.password": fpm("name", "hunter2"),
        "message": f"token {fpm('jwt', jwt)}",
        "tags": ("a", fpm("jwt", jwt)),
        "retries": 3,
    }
    (event,) = work.events
    assert event.name == "auth"
    assert dict(event.attributes or {}) == {"api_key": fpm("name", "k-123"), "count": 2}
    (link,) = work.links
    assert dict(link.attributes or {}) == {"note": fpm("jwt", jwt)}
    assert link.context == other.get_span_context()
    assert work.status.status_code is StatusCode.ERROR
    assert work.status.description == f"bad token {fpm('jwt', jwt)}"
    # Identity and timing are kept.
    original = raw.spans[1]
    assert work.context == original.context
    assert work.parent == original.parent
    assert (work.start_time, work.end_time) == (original.start_time, original.end_time)
    assert work.kind == original.kind
    assert work.resource is original.resource
    assert work.instrumentation_scope == original.instrumentation_scope
    # The original span, seen by other processors, is untouched.
    assert original.attributes is not None
    assert original.attributes["db.password"] == "hunter2"


@pytest.mark.parametrize(
    "key",
    [
        "http.request.header.authorization",
        "http.request.header.Authorization",
        "http.request.header.proxy_authorization",
        "http.request.header.proxy-authorization",
        "http.request.header.cookie",
        "http.response.header.set_cookie",
        "http.response.header.Set-Cookie",
    ],
)
def test_credential_headers_are_masked_even_if_allowlisted(key: str) -> None:
    policy = RedactionPolicy(fingerprint_key=KEY, allow_names=[key])
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, policy)))
    with provider.get_tracer("t").start_as_current_span("req") as span:
        span.set_attribute(key, ["Basic-ish value", "second"])
        span.set_attribute("http.request.header.accept", "kept")
    attrs = dict(memory.get_finished_spans()[0].attributes or {})
    assert attrs[key] == (fpm("header", "Basic-ish value"), fpm("header", "second"))
    assert attrs["http.request.header.accept"] == "kept"


def test_url_parameters_are_masked() -> None:
    provider, memory, _ = pipeline()
    with provider.get_tracer("t").start_as_current_span("GET /cb") as span:
        span.set_attribute(
            "url.full",
            "https://user:pw-secret@api.example/cb?code=abc123&state=xyz&X-Amz-Signature=f00d#access_token=tok1",
        )
        span.set_attribute("url.query", "page=2&api_key=k1&sig=s1")
        span.set_attribute("http.target", "/cb?token=t1&next=/home")
        span.set_attribute("http.url", "https://api.example/path")
    attrs = dict(memory.get_finished_spans()[0].attributes or {})
    assert attrs == {
        "url.full": (
            f"https://user:{fpm('url-password', 'pw-secret')}@api.example/cb?"
            f"code={fpm('query-param', 'abc123')}&state=xyz&"
            f"X-Amz-Signature={fpm('query-param', 'f00d')}"
            f"#access_token={fpm('query-param', 'tok1')}"
        ),
        "url.query": f"page=2&api_key={fpm('query-param', 'k1')}&sig={fpm('query-param', 's1')}",
        "http.target": f"/cb?token={fpm('query-param', 't1')}&next=/home",
        "http.url": "https://api.example/path",
    }


def test_span_name_is_redacted() -> None:
    provider, memory, _ = pipeline()
    jwt = make_jwt()
    with provider.get_tracer("t").start_as_current_span(f"verify {jwt}"):
        pass
    assert memory.get_finished_spans()[0].name == f"verify {fpm('jwt', jwt)}"


def test_dropped_counts_are_kept() -> None:
    from opentelemetry.sdk.trace import SpanLimits

    memory = InMemorySpanExporter()
    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=1, max_events=1))
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, POLICY)))
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("a", 1)
        span.set_attribute("b", 2)
        span.add_event("e1")
        span.add_event("e2")
    (out,) = memory.get_finished_spans()
    assert out.dropped_attributes == 1
    assert out.dropped_events == 1
    assert dict(out.attributes or {}) == {"b": 2}


def test_a_span_that_cannot_be_redacted_is_dropped() -> None:
    class Exploding(RedactionPolicy):
        __slots__ = ()

        def redact_text(self, text: str) -> str:
            if "boom" in text:
                raise RuntimeError("bug")
            return text

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(memory, Exploding())))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("boom"):
        pass
    with tracer.start_as_current_span("fine"):
        pass
    assert [s.name for s in memory.get_finished_spans()] == ["fine"]


def test_shutdown_and_flush_delegate() -> None:
    memory = InMemorySpanExporter()
    exporter = RedactingSpanExporter(memory)
    assert exporter.inner is memory
    assert isinstance(exporter.policy, RedactionPolicy)
    assert exporter.force_flush(10) is True
    exporter.shutdown()
    assert exporter.export([]) is SpanExportResult.FAILURE  # InMemorySpanExporter after shutdown


def test_configuration_errors() -> None:
    with pytest.raises(TypeError, match="inner must be an OpenTelemetry SpanExporter"):
        RedactingSpanExporter(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="policy must be a RedactionPolicy"):
        RedactingSpanExporter(InMemorySpanExporter(), policy=1)  # type: ignore[arg-type]
