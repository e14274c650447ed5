"""Trace files are OTLP JSON written straight from the SDK's spans: the same bytes the OTLP
exporter's protobuf gave through ``json_format.MessageToDict`` (ids to hex), for every shape of
span the mesh makes and the SDK admits, so readers (tests, bench, the Collector) see no change."""

import base64
import enum
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from services.kit.span_json import otlp_json
from services.kit.tracing import JsonLinesExporter

CALLER = {
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "tracestate": "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
}


class Seats(int, enum.Enum):  # an int whose str() is its name
    FEW = 2


EVERY_VALUE = {
    "text": "Bogotá → Medellín",
    "empty": "",
    "yes": True,
    "no": False,
    "zero": 0,
    "negative": -7,
    "int64_max": 2**63 - 1,
    "int64_min": -(2**63),
    "int_enum": Seats.FEW,
    "too_big": 2**63,  # protobuf cannot hold it: the attribute goes, the span stays
    "half": 0.5,
    "whole_float": 3.0,
    "tiny": 5e-324,
    "nan": float("nan"),
    "inf": float("inf"),
    "minus_inf": float("-inf"),
    "texts": ["a", ""],
    "bools": [True, False],
    "ints": [1, -2],
    "floats": [1.5, float("nan")],
    "with_none": ["a", None],
    "none_tuple": (),
    "mixed": [1, "a", 2.5, True],
    "nested": [[1, 2], ["x"]],
    "raw": b"\x00\xff",
    "utf8_bytes": b"ok",
    "mapping": {"k": 1, "inner": {"list": [1, "a"]}},
    "empty_mapping": {},
}


def reference(spans: list[ReadableSpan]) -> dict[str, Any]:
    """What JsonLinesExporter wrote before: protobuf, MessageToDict, then ids base64 -> hex."""
    request = json_format.MessageToDict(encode_spans(spans))
    for resource in request.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                for item in (span, *span.get("links", [])):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if item.get(key):
                            item[key] = base64.b64decode(item[key]).hex()
    return request


def provider(memory: InMemorySpanExporter, resource: Resource) -> TracerProvider:
    limits = SpanLimits(
        max_span_attributes=40,
        max_events=3,
        max_links=2,
        max_event_attributes=2,
        max_link_attributes=2,
        max_attribute_length=256,  # as setup() has it
    )
    made = TracerProvider(resource=resource, span_limits=limits)
    made.add_span_processor(SimpleSpanProcessor(memory))
    return made


def mesh_like_spans() -> list[ReadableSpan]:
    """Two services' spans interleaved in one batch, of every kind and shape."""
    memory = InMemorySpanExporter()
    sagas_resource = {"service.name": "aeroalpes-sagas", "replica": 2, "tags": ["a", "b"]}
    schema = "https://opentelemetry.io/schemas/1.21.0"
    sagas = provider(memory, Resource.create(sagas_resource, schema_url=schema))
    bare = provider(memory, Resource({}))  # no attributes, no schema
    # Equal to the sagas' resource, another object: protobuf's grouping merges them.
    twin = provider(memory, Resource.create(sagas_resource, schema_url=schema))
    grpc_scope = sagas.get_tracer(
        "opentelemetry.instrumentation.grpc",
        "0.66b2",
        schema_url="https://opentelemetry.io/schemas/1.11.0",
        attributes={"scope.flavour": "server", "scope.n": 1},
    )
    engine = sagas.get_tracer("services.sagas.engine")
    nameless = sagas.get_tracer("")

    with grpc_scope.start_as_current_span(
        "/aeroalpes.sagas.v1.SagasService/ReservarVuelo",
        context=propagate.extract(CALLER),  # remote parent, with a trace state
        kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.grpc.status_code": 0, "net.peer.port": "51234"},
    ) as server:
        with (
            engine.start_as_current_span("saga reserva", attributes=EVERY_VALUE),
            grpc_scope.start_as_current_span(
                "/aeroalpes.pagos.v1.PagosService/Cobrar", kind=SpanKind.CLIENT
            ) as client,
        ):
            client.set_status(Status(StatusCode.OK))
        with bare.get_tracer("bare").start_as_current_span("bare span"):
            pass
        server.set_attribute("rpc.grpc.status_code", 9)
        server.record_exception(ValueError("seat taken"), escaped=True)
        server.set_status(Status(StatusCode.ERROR, "FAILED_PRECONDITION: seat taken"))

    remote = trace.get_current_span(propagate.extract(CALLER)).get_span_context()
    local = client.get_span_context()
    producer = engine.start_span(
        "publish reservas",
        kind=SpanKind.PRODUCER,
        links=[
            Link(remote, {"why": "caused by", "n": 1, "over": "the limit"}),  # one dropped
            Link(local),
            Link(local, {"third": True}),  # over max_links: dropped
        ],
        start_time=1_700_000_000_123_456_789,
    )
    producer.end(end_time=1_700_000_000_223_456_789)
    with nameless.start_as_current_span("", kind=SpanKind.CONSUMER) as consumer:
        consumer.add_event("received", {"a": 1, "b": "two", "c": 3.0}, timestamp=1)  # one over
        consumer.add_event("")
        consumer.add_event("acked", {"ok": True})
        consumer.add_event("one too many")  # over max_events: dropped
        consumer.set_status(Status(StatusCode.ERROR))  # an error with no message
    with engine.start_as_current_span(
        "crowded", attributes={f"k{n}": n for n in range(45)}
    ):  # over max_span_attributes: 5 dropped
        pass
    with twin.get_tracer("services.sagas.engine").start_as_current_span("twin's"):
        pass
    for made in (sagas, bare, twin):
        made.shutdown()
    return list(memory.get_finished_spans())


def keys(item: Any) -> set[str]:
    if isinstance(item, dict):
        return set(item) | {k for value in item.values() for k in keys(value)}
    if isinstance(item, list):
        return {k for value in item for k in keys(value)}
    return set()


def test_every_shape_of_span_is_written_as_the_protobuf_path_wrote_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spans = mesh_like_spans()
    with caplog.at_level(logging.CRITICAL):  # both paths log the int64 overflow
        expected = reference(spans)
    written = otlp_json(spans)
    assert written == expected
    # Same keys in the same order: the same bytes on disk.
    assert json.dumps(written, separators=(",", ":")) == json.dumps(expected, separators=(",", ":"))
    # The comparison covered every field the format has for spans.
    assert keys(expected) >= {
        "resource", "schemaUrl", "scope", "version", "traceState", "parentSpanId", "kind",
        "startTimeUnixNano", "endTimeUnixNano", "droppedAttributesCount", "events",
        "timeUnixNano", "droppedEventsCount", "links", "droppedLinksCount", "message", "code",
        "flags", "stringValue", "boolValue", "intValue", "doubleValue", "arrayValue",
        "kvlistValue", "bytesValue",
    }  # fmt: skip
    assert [len(r["scopeSpans"]) for r in expected["resourceSpans"]] == [3, 1]
    assert "too_big" not in json.dumps(written)


def test_the_exporter_writes_one_line_per_batch_as_before(tmp_path: Path) -> None:
    spans = mesh_like_spans()
    exporter = JsonLinesExporter(tmp_path / "sagas-1.jsonl")
    exporter.export(spans[:3])
    exporter.export(spans[3:])
    lines = (tmp_path / "sagas-1.jsonl").read_text().splitlines()
    assert lines == [
        json.dumps(reference(spans[:3]), separators=(",", ":")),
        json.dumps(reference(spans[3:]), separators=(",", ":")),
    ]
