"""OTLP JSON written straight from the SDK's spans: the trace files' lines (kit/tracing.py).

It is what the OTLP exporter's protobuf (``encode_spans``) becomes through
``json_format.MessageToDict`` with hex ids, key for key and in the same order (fields by number;
defaults left out; 64-bit integers as strings), without that round trip: it took ~10 % of the
orchestrator's CPU under load. tests/unit/test_span_json.py holds it to the protobuf path. One
difference: a string that is not UTF-8 (a lone surrogate) is written escaped, where protobuf
dropped its attribute (or, in a name, the whole batch)."""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode

log = logging.getLogger(__name__)

_KINDS = {
    SpanKind.INTERNAL: "SPAN_KIND_INTERNAL",
    SpanKind.SERVER: "SPAN_KIND_SERVER",
    SpanKind.CLIENT: "SPAN_KIND_CLIENT",
    SpanKind.PRODUCER: "SPAN_KIND_PRODUCER",
    SpanKind.CONSUMER: "SPAN_KIND_CONSUMER",
}
_STATUS_CODES = {StatusCode.OK: "STATUS_CODE_OK", StatusCode.ERROR: "STATUS_CODE_ERROR"}
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200  # SpanFlags: the parent's (link's) is_remote is known
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def otlp_json(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """The ``ExportTraceServiceRequest`` of ``spans``: by resource, then by scope, as OTLP's."""
    by_resource: dict[Resource, dict[InstrumentationScope | None, list[dict[str, Any]]]] = {}
    resource: Resource | None = None
    by_scope: dict[InstrumentationScope | None, list[dict[str, Any]]] = {}
    for span in spans:
        if span.resource is not resource:  # hashing a Resource dumps its attributes: not per span
            resource = span.resource
            by_scope = by_resource.setdefault(resource, {})
        by_scope.setdefault(span.instrumentation_scope or None, []).append(_span(span))
    if not by_resource:
        return {}
    return {
        "resourceSpans": [
            _with_schema(
                {
                    "resource": _some_attributes({}, resource.attributes),
                    "scopeSpans": [
                        _with_schema({"scope": _scope(scope), "spans": spans_}, scope)
                        for scope, spans_ in by_scope.items()
                    ],
                },
                resource,
            )
            for resource, by_scope in by_resource.items()
        ]
    }


def _span(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    out: dict[str, Any] = {
        "traceId": f"{context.trace_id:032x}",
        "spanId": f"{context.span_id:016x}",
    }
    if context.trace_state:
        out["traceState"] = ",".join(f"{key}={value}" for key, value in context.trace_state.items())
    if span.parent:
        out["parentSpanId"] = f"{span.parent.span_id:016x}"
    if span.name:
        out["name"] = span.name
    out["kind"] = _KINDS[span.kind]
    if span.start_time:
        out["startTimeUnixNano"] = str(span.start_time)
    if span.end_time:
        out["endTimeUnixNano"] = str(span.end_time)
    _some_attributes(out, span.attributes, span.dropped_attributes)
    events, links = span.events, span.links  # each read copies them
    if events:
        out["events"] = [_event(event) for event in events]
    if span.dropped_events:
        out["droppedEventsCount"] = span.dropped_events
    if links:
        out["links"] = [_link(link) for link in links]
    if span.dropped_links:
        out["droppedLinksCount"] = span.dropped_links
    status: dict[str, Any] = {}
    if span.status.description:
        status["message"] = span.status.description
    if span.status.status_code in _STATUS_CODES:
        status["code"] = _STATUS_CODES[span.status.status_code]
    out["status"] = status
    out["flags"] = _flags(span.parent)
    return out


def _event(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if event.timestamp:
        out["timeUnixNano"] = str(event.timestamp)
    if event.name:
        out["name"] = event.name
    return _some_attributes(out, event.attributes, event.dropped_attributes)


def _link(link: Link) -> dict[str, Any]:
    # No traceState: the OTLP exporter leaves a link's out too.
    out: dict[str, Any] = {
        "traceId": f"{link.context.trace_id:032x}",
        "spanId": f"{link.context.span_id:016x}",
    }
    _some_attributes(out, link.attributes, link.dropped_attributes)
    out["flags"] = _flags(link.context)
    return out


def _flags(context: SpanContext | None) -> int:
    return _HAS_IS_REMOTE | _IS_REMOTE if context and context.is_remote else _HAS_IS_REMOTE


def _scope(scope: InstrumentationScope | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if scope is not None:
        if scope.name:
            out["name"] = scope.name
        if scope.version:
            out["version"] = scope.version
        _some_attributes(out, scope.attributes)
    return out


def _with_schema(
    out: dict[str, Any], owner: Resource | InstrumentationScope | None
) -> dict[str, Any]:
    if owner is not None and owner.schema_url:
        out["schemaUrl"] = owner.schema_url
    return out


def _some_attributes(
    out: dict[str, Any], attributes: Mapping[str, Any] | None, dropped: int = 0
) -> dict[str, Any]:
    """``out`` with the ``attributes`` and ``droppedAttributesCount`` keys when not empty."""
    if attributes:
        encoded = []
        for key, value in attributes.items():
            try:
                encoded.append({"key": key, "value": _value(value)})
            except Exception as error:  # as the protobuf path: the attribute goes, not the batch
                log.warning("cannot encode span attribute %s: %s", key, error)
        if encoded:
            out["attributes"] = encoded
    if dropped:
        out["droppedAttributesCount"] = dropped
    return out


def _value(value: Any) -> dict[str, Any]:
    """An ``AnyValue``: one key always (a oneof), even for "", 0 or false."""
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):  # before int: a bool is an int
        return {"boolValue": value}
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:  # not `in range()`: linear for int subclasses
            raise ValueError(f"{value} is out of int64's range")
        return {"intValue": str(int(value))}  # int(): an enum's str() is its name
    if isinstance(value, float):
        return {"doubleValue": _double(value)}
    if value is None:
        return {}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [_value(item) for item in value]} if value else {}}
    if isinstance(value, Mapping):
        items = [{"key": str(key), "value": _value(item)} for key, item in value.items()]
        return {"kvlistValue": {"values": items} if items else {}}
    raise TypeError(f"{type(value).__name__} is no attribute value")


def _double(value: float) -> float | str:
    """JSON has no NaN or infinities: ProtoJSON spells them as strings."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"
