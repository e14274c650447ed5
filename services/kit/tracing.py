"""OpenTelemetry traces: the SDK, its gRPC instrumentation (every server span from the caller's
``traceparent``, every client call carrying it on), and one exporter per process.

Spans go over OTLP/gRPC to ``AEROALPES_OTLP_ENDPOINT`` when it is set (a Collector, Jaeger);
without it, to ``<var>/trazas/<service>-<pid>.jsonl`` in the OTLP JSON format the OpenTelemetry
Collector's ``otlpjsonfile`` receiver reads (README: Traces). ``AEROALPES_TRAZAS_MUESTREO`` is the
share of new traces sampled (default 1; 0: tracing off); a trace begun upstream keeps its
caller's decision. Files stay bounded: one past ``AEROALPES_TRAZAS_MAX_MB`` (64) becomes ``.1``
(the one before is dropped), and a process starting keeps only its service's last few files."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Status
from opentelemetry.util.types import AnyValue

from services.kit.config import env_int, sample_ratio
from services.kit.logs import mask_email, masked_cut
from services.kit.span_json import otlp_json

log = logging.getLogger(__name__)
_provider: TracerProvider | None = None
KEEP_FILES = 8  # per service, from earlier processes (restarts, replicas)
EXPORT_TIMEOUT_S = 2  # a collector that is down must not hold a process that is stopping
ATTRIBUTE_MAX = 256  # characters of a span's or an event's attribute value (the SDK cuts them)
STATUS_MAX = 2000  # of a span's status message, which the SDK never cuts


def traced(details: object) -> bool:
    """True for calls to trace: not the machinery (health checks, and the relay's state, asked
    every second). OpenTelemetry's own filters (health_check, method_name) did the same with
    isinstance checks against typing Protocols, ~1.7 % of the orchestrator's CPU (py-spy)."""
    # A client call's details name it full_method (grpcext), a server's method.
    name = getattr(details, "full_method", None) or getattr(details, "method", None) or ""
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    return not (name.startswith("/grpc.health.v1.Health") or name.endswith("/ObtenerEstado"))


def trace_file_mb(env: Mapping[str, str]) -> int:
    return env_int(env, "AEROALPES_TRAZAS_MAX_MB", 64)


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
        span_limits=SpanLimits(max_attribute_length=ATTRIBUTE_MAX),
    )
    _provider.add_span_processor(
        BatchSpanProcessor(RedactingExporter(exporter), schedule_delay_millis=500)
    )
    trace.set_tracer_provider(_provider)
    GrpcInstrumentorClient(filter_=traced).instrument()  # type: ignore[no-untyped-call]
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


class RedactingExporter(SpanExporter):
    """What every span says of an error, e-mail addresses masked and bounded, then ``exporter``.

    A failed call's span holds the peer's raw text: OpenTelemetry's gRPC instrumentation writes
    it as the status message (``_InactiveRpcError: <... details = "...">``, unbounded: a status
    is no attribute) and as an ``exception`` event's attributes (cut at ``ATTRIBUTE_MAX``
    characters by the SDK, wherever that falls). It may name a customer's e-mail address (a
    refusal, a database's duplicate-key error). Here, as the logs do (kit/logs), the status
    message is masked and cut at ``STATUS_MAX`` characters, and every event's text attribute
    masked, one the SDK cut losing its last word too (it may be an address's start). Runs on the
    batch processor's thread; a span without a status message or events passes untouched."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.exporter.export([redacted(span) for span in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)

    def __str__(self) -> str:
        return str(self.exporter)


def redacted(span: ReadableSpan) -> ReadableSpan:
    """``span``, or a copy with its status message and events' text masked and bounded."""
    status, events = span.status, span.events
    if not status.description and not events:
        return span
    description = status.description and masked_cut(status.description, STATUS_MAX)
    kept = [_event(event) for event in events]
    if description == status.description and all(a is b for a, b in zip(kept, events, strict=True)):
        return span
    return _Redacted(span, Status(status.status_code, description), kept)


def _text(value: AnyValue) -> AnyValue:
    if not isinstance(value, str):
        return value
    if len(value) >= ATTRIBUTE_MAX:  # maybe cut by the SDK: maybe mid-address
        return masked_cut(value, ATTRIBUTE_MAX, cut=True)
    return mask_email(value)


def _event(event: Event) -> Event:
    attributes = event.attributes or {}
    kept = {key: _text(value) for key, value in attributes.items()}
    if all(kept[key] == value for key, value in attributes.items()):
        return event
    bounded = BoundedAttributes(attributes=kept, immutable=True)
    bounded.dropped = event.dropped_attributes
    return Event(event.name, bounded, event.timestamp)


class _Redacted(ReadableSpan):
    """A span as ended, but for its status and events; its dropped counts are its own."""

    def __init__(self, span: ReadableSpan, status: Status, events: Sequence[Event]) -> None:
        super().__init__(
            span.name,
            span.get_span_context(),
            span.parent,
            span.resource,
            span.attributes,
            events,
            span.links,
            span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )
        self._dropped = (span.dropped_attributes, span.dropped_events, span.dropped_links)

    @property
    def dropped_attributes(self) -> int:
        return self._dropped[0]

    @property
    def dropped_events(self) -> int:
        return self._dropped[1]

    @property
    def dropped_links(self) -> int:
        return self._dropped[2]
