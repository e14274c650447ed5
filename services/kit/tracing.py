"""OpenTelemetry traces: the SDK, its gRPC instrumentation (every server span from the caller's
``traceparent``, every client call carrying it on), and one exporter per process.

Spans go over OTLP/gRPC to ``AEROALPES_OTLP_ENDPOINT`` when it is set (a Collector, Jaeger);
without it, to ``<var>/trazas/<service>-<pid>.jsonl`` in the OTLP JSON format the OpenTelemetry
Collector's ``otlpjsonfile`` receiver reads (README: Traces). ``AEROALPES_TRAZAS_MUESTREO`` is the
share of new traces sampled (default 1; 0: tracing off); a trace begun upstream keeps its
caller's decision. Files stay bounded: one past ``AEROALPES_TRAZAS_MAX_MB`` (64) becomes ``.1``
(the one before is dropped), and a process starting keeps only its service's last few files."""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.grpc import filters
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode

from services.kit.config import ConfigError, env_int, env_str

log = logging.getLogger(__name__)
_provider: TracerProvider | None = None
# Calls that are machinery, not requests: health checks and the relay's state, asked every second.
UNTRACED = filters.negate(
    filters.any_of(filters.health_check(), filters.method_name("ObtenerEstado"))
)
KEEP_FILES = 8  # per service, from earlier processes (restarts, replicas)
EXPORT_TIMEOUT_S = 2  # a collector that is down must not hold a process that is stopping


def trace_file_mb(env: Mapping[str, str]) -> int:
    return env_int(env, "AEROALPES_TRAZAS_MAX_MB", 64)


def sample_ratio(env: Mapping[str, str]) -> float:
    text = env_str(env, "AEROALPES_TRAZAS_MUESTREO", "1")
    try:
        ratio = float(text)
    except ValueError:
        raise ConfigError(
            f"AEROALPES_TRAZAS_MUESTREO must be a number from 0 to 1, got {text!r}"
        ) from None
    if not 0 <= ratio <= 1:
        raise ConfigError(f"AEROALPES_TRAZAS_MUESTREO must be from 0 to 1, got {text!r}")
    return ratio


def setup(service: str, var_dir: Path, env: Mapping[str, str]) -> None:
    """Call first thing in a process: channels created before it do not carry the trace."""
    global _provider
    ratio = sample_ratio(env)
    if ratio == 0 or _provider is not None:
        return
    from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient

    endpoint = env.get("AEROALPES_OTLP_ENDPOINT") or ""
    exporter: SpanExporter
    if endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(
            endpoint=endpoint,
            insecure=not endpoint.startswith("https"),
            timeout=EXPORT_TIMEOUT_S,
        )
    else:
        # One file per process: replicas of a service never interleave their lines.
        path = var_dir / "trazas" / f"{service}-{os.getpid()}.jsonl"
        forget_old_files(path.parent, service)
        exporter = JsonLinesExporter(path, max_bytes=trace_file_mb(env) * 1024 * 1024)
    _provider = TracerProvider(
        resource=Resource.create({"service.name": f"aeroalpes-{service}"}),
        sampler=ParentBased(TraceIdRatioBased(ratio)),
        # What a client sends (a user agent) must not make every span kilobytes long.
        span_limits=SpanLimits(max_attribute_length=256),
    )
    _provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
    trace.set_tracer_provider(_provider)
    GrpcInstrumentorClient(filter_=UNTRACED).instrument()  # type: ignore[no-untyped-call]
    log.info("traces (%.0f %% sampled) to %s", ratio * 100, endpoint or exporter)


def forget_old_files(folder: Path, service: str, keep: int = KEEP_FILES) -> None:
    """Earlier processes' trace files of ``service``: all but the newest ``keep`` go."""

    def age(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except FileNotFoundError:  # another replica starting took it away just now
            return 0.0

    try:
        files = sorted(folder.glob(f"{service}-*.jsonl*"), key=age)
        for old in files[: max(0, len(files) - keep)]:
            old.unlink(missing_ok=True)
    except OSError as error:  # pruning is housekeeping: never a reason not to start
        log.warning("cannot prune old trace files in %s: %s", folder, error)


def shutdown() -> None:
    """Flushes what is buffered (call on the way out), for a few seconds at most: spans a
    collector that is down cannot take are dropped rather than holding the process."""
    if _provider is not None:
        flushing = threading.Thread(target=_provider.shutdown, name="traces-flush", daemon=True)
        flushing.start()
        flushing.join(timeout=EXPORT_TIMEOUT_S + 1)


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, to store beside what it caused."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


def parent(traceparent: str | None) -> otel_context.Context | None:
    """The context a stored or received ``traceparent`` names (None: start a new trace)."""
    return propagate.extract({"traceparent": traceparent}) if traceparent else None


class JsonLinesExporter(SpanExporter):
    """One ``ExportTraceServiceRequest`` per line, in OTLP JSON (hex ids, as the spec wants)."""

    def __init__(self, path: Path, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes  # then the file becomes <name>.1 (the one before is dropped)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        line = json.dumps(otlp_json(spans), separators=(",", ":")) + "\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if self.path.exists() and self.path.stat().st_size >= self.max_bytes:
                    self.path.replace(self.path.with_name(self.path.name + ".1"))
                with self.path.open("a") as out:
                    out.write(line)
        except OSError as error:
            log.warning("cannot write traces to %s: %s", self.path, error)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def __str__(self) -> str:
        return str(self.path)


# OTLP JSON written straight from the SDK's spans. It is what the OTLP exporter's protobuf
# (``encode_spans``) becomes through ``json_format.MessageToDict`` with hex ids, key for key and in
# the same order (fields by number; defaults left out; 64-bit integers as strings), without that
# round trip: it took ~10 % of the orchestrator's CPU under load. tests/unit/test_span_json.py
# holds it to the protobuf path. One difference: a string that is not UTF-8 (a lone surrogate)
# is written escaped, where protobuf dropped its attribute (or, in a name, the whole batch).
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
            except (
                TypeError,
                ValueError,
            ) as error:  # as protobuf: the attribute goes, not the span
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
