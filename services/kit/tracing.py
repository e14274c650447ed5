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
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from services.kit.config import env_int, sample_ratio
from services.kit.span_json import otlp_json

log = logging.getLogger(__name__)
_provider: TracerProvider | None = None
KEEP_FILES = 8  # per service, from earlier processes (restarts, replicas)
EXPORT_TIMEOUT_S = 2  # a collector that is down must not hold a process that is stopping


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
        span_limits=SpanLimits(max_attribute_length=256),
    )
    _provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
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
