"""OpenTelemetry: an exporter wrapper that exports redacted copies of finished spans.

Why an exporter and not a span processor: by the time `SpanProcessor.on_end` runs, the
span is a read-only `ReadableSpan` whose attributes can no longer be changed, and every
processor sees the same object. Redacting in the exporter, on copies, is the last point
before data leaves the process, and it covers every processor that feeds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import AnyValue, Attributes

from cryptorails.redact._http import (
    QUERY_ATTRIBUTES,
    URL_ATTRIBUTES,
    is_credential_header_attribute,
    redact_url,
)
from cryptorails.redact._policy import RedactionPolicy

__all__ = ["RedactingSpanExporter"]


class RedactingSpanExporter(SpanExporter):
    """Wrap `inner` so that it only ever receives redacted copies of spans.

    Redacted in each span: its name, its attributes, every event's and link's attributes,
    and the status description; resource and instrumentation scope pass as they are.
    Besides the policy's rules:

    * captured credential headers (``http.request.header.authorization``, ``cookie``,
      ``set-cookie``, ``proxy-authorization``, in any case, with ``-`` or ``_``) are
      masked whole, even if the policy allowlists the name;
    * in ``url.full``, ``http.url``, ``http.target`` and ``url.query`` the values of
      credential parameters (``access_token``, ``code``, ``X-Amz-Signature``, ...) and a
      password in the userinfo are masked, keeping the rest of the URL.

    A span whose redaction fails is dropped, never exported raw. The original spans are
    not modified (other processors may still hold them).

    Example::

        inner = OTLPSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(RedactingSpanExporter(inner)))

    Args:
        inner: the exporter that receives the redacted spans.
        policy: the `RedactionPolicy` to apply (a default policy if None).
    """

    def __init__(self, inner: SpanExporter, policy: RedactionPolicy | None = None) -> None:
        if not isinstance(inner, SpanExporter):
            raise TypeError("inner must be an OpenTelemetry SpanExporter")
        if policy is not None and not isinstance(policy, RedactionPolicy):
            raise TypeError("policy must be a RedactionPolicy")
        self._inner = inner
        self._policy = policy if policy is not None else RedactionPolicy()

    @property
    def inner(self) -> SpanExporter:
        """The wrapped exporter."""
        return self._inner

    @property
    def policy(self) -> RedactionPolicy:
        """The policy this exporter applies."""
        return self._policy

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export redacted copies of `spans` through the inner exporter."""
        redacted: list[ReadableSpan] = []
        for span in spans:
            try:
                redacted.append(self._span(span))
            except Exception:  # noqa: S112 -- a span we cannot redact is not exported
                continue
        return self._inner.export(redacted)

    def shutdown(self) -> None:
        """Shut the inner exporter down."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the inner exporter."""
        return self._inner.force_flush(timeout_millis)

    def _span(self, span: ReadableSpan) -> ReadableSpan:
        policy = self._policy
        status = span.status
        if status.description:
            status = Status(status.status_code, policy.redact_text(status.description))
        events: BoundedList[Event] = BoundedList(None)
        events.extend(
            [
                Event(e.name, self._attributes(e.attributes, _dropped(e)), e.timestamp)
                for e in span.events
            ]
        )
        events.dropped = span.dropped_events
        links: BoundedList[Link] = BoundedList(None)
        links.extend(
            [
                Link(link.context, self._attributes(link.attributes, _dropped(link)))
                for link in span.links
            ]
        )
        links.dropped = span.dropped_links
        return ReadableSpan(
            name=policy.redact_text(span.name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=self._attributes(span.attributes, span.dropped_attributes),
            events=events,
            links=links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def _attributes(self, attributes: Attributes, dropped: int) -> BoundedAttributes:
        out: dict[str, AnyValue] = {}
        for key, value in (attributes or {}).items():
            out[key] = self._attribute(key, value)
        bounded = BoundedAttributes(None, out, immutable=True)
        bounded.dropped = dropped
        return bounded

    def _attribute(self, key: str, value: AnyValue) -> AnyValue:
        policy = self._policy
        if is_credential_header_attribute(key):
            if isinstance(value, Sequence) and not isinstance(value, str | bytes):
                return tuple(policy.mask("header", _text(v)) for v in value)
            return policy.mask("header", _text(value))
        if isinstance(value, str):
            if key in URL_ATTRIBUTES:
                value = redact_url(policy, value)
            elif key in QUERY_ATTRIBUTES:
                value = redact_url(policy, value, query_only=True)
        return policy.redact(value, key)  # type: ignore[return-value]


def _dropped(item: Event | Link) -> int:
    attributes = item.attributes
    return attributes.dropped if isinstance(attributes, BoundedAttributes) else 0


def _text(value: object) -> bytes | str | None:
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Mapping):
        return None
    return repr(value)
