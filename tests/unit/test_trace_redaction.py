"""A span's error text reaches the trace files as the logs write it: e-mail addresses masked,
the status message bounded (kit/tracing.RedactingExporter, under every service's exporter)."""

import json
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode

from services.kit.logs import RECORTADO
from services.kit.tracing import (
    ATTRIBUTE_MAX,
    STATUS_MAX,
    JsonLinesExporter,
    RedactingExporter,
    redacted,
)

EMAIL = "juana.o'pérez@correo.example.com"


class Kept(SpanExporter):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


def provider_to(exporter: SpanExporter) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create({"service.name": "aeroalpes-sagas"}),
        span_limits=SpanLimits(max_attribute_length=ATTRIBUTE_MAX),
    )
    provider.add_span_processor(SimpleSpanProcessor(RedactingExporter(exporter)))
    return provider


def test_a_failed_calls_text_is_masked_and_bounded_in_the_trace_file(tmp_path: Path) -> None:
    path = tmp_path / "sagas-1.jsonl"
    provider = provider_to(JsonLinesExporter(path))
    tracer = provider.get_tracer("test")
    # The address at the event attribute's cut (ATTRIBUTE_MAX), and again in a long status.
    message = "x" * (ATTRIBUTE_MAX - 20) + f" {EMAIL} " + "detalle " * 1000
    with tracer.start_as_current_span("pagar", record_exception=False) as span:
        span.set_attribute("aeroalpes.saga.id", "s1")
        span.record_exception(ValueError(message))
        span.set_status(Status(StatusCode.ERROR, f"ValueError: {message} {EMAIL}"))
    provider.shutdown()
    text = path.read_text()
    assert "juana" not in text and "o'p" not in text and "j***@correo.example.com" in text
    [line] = text.splitlines()
    [written] = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert len(written["status"]["message"]) == STATUS_MAX
    assert written["status"]["message"].endswith(RECORTADO)
    assert written["status"]["code"] == "STATUS_CODE_ERROR"
    assert written["attributes"] == [{"key": "aeroalpes.saga.id", "value": {"stringValue": "s1"}}]
    [event] = written["events"]
    values = {a["key"]: a["value"].get("stringValue", "") for a in event["attributes"]}
    assert values["exception.type"] == "ValueError"
    assert values["exception.message"].endswith(RECORTADO)
    assert all(len(v) <= ATTRIBUTE_MAX for v in values.values())


def test_a_span_without_error_text_is_exported_as_it_ended() -> None:
    kept = Kept()
    provider = provider_to(kept)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("ok") as span:
        span.add_event("reintento", {"intento": 2, "nota": "sin datos personales"})
    with tracer.start_as_current_span("refused") as span:
        span.set_status(Status(StatusCode.ERROR, "PAGO_RECHAZADO: sin fondos"))
    provider.shutdown()
    assert all(redacted(s) is s for s in kept.spans)  # nothing to mask: the very same span
    assert [s.status.description for s in kept.spans] == [None, "PAGO_RECHAZADO: sin fondos"]


def test_a_redacted_span_keeps_its_dropped_counts() -> None:
    kept = Kept()
    provider = TracerProvider(span_limits=SpanLimits(max_events=1, max_span_attributes=1))
    provider.add_span_processor(SimpleSpanProcessor(kept))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("s") as span:
        span.set_attributes({"a": 1, "b": 2})
        span.add_event("uno")  # the oldest goes
        span.add_event("dos", {"x": f"de {EMAIL}"})
    provider.shutdown()
    [original] = kept.spans
    copy = redacted(original)
    assert copy is not original
    assert copy.events[0].attributes == {"x": "de j***@correo.example.com"}
    assert (copy.dropped_attributes, copy.dropped_events) == (1, 1)
    assert (copy.name, copy.context, copy.attributes) == ("s", original.context, {"b": 2})
