"""CPU per span of writing traces to a file (services/kit/tracing.JsonLinesExporter), next to the
protobuf round trip it used to take (``encode_spans``, ``MessageToDict``, ids to hex, json).

``python -m bench.spans [--batches 20] [--size 512] [--repeats 5]``

In process, one thread. The spans are real SDK spans shaped like the mesh's: gRPC SERVER spans
with a remote parent (the instrumentation's eight attributes), a CLIENT span under each, and one
pair in twenty refused (error status, an exception event). Each repeat exports every batch to a
file in a temporary folder with each path in turn; CPU (``time.process_time``) per span, median
over the repeats, printed as JSON. Not run by ``make bench``: a micro-benchmark for issue #15.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from google.protobuf import json_format
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from services.kit.tracing import JsonLinesExporter

Batch = Sequence[ReadableSpan]


def mesh_spans(count: int) -> list[ReadableSpan]:
    """``count`` spans as a participant under load makes them: server span, client span inside."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "aeroalpes-sagas"}),
        span_limits=SpanLimits(max_attribute_length=256),
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    server = provider.get_tracer("opentelemetry.instrumentation.grpc", "0.66b2")
    for n in range(count // 2):
        caller = propagate.extract({"traceparent": f"00-{n + 1:032x}-{n + 1:016x}-01"})
        with server.start_as_current_span(
            "/aeroalpes.reservas.v1.ReservasService/CrearReserva",
            context=caller,
            kind=trace.SpanKind.SERVER,
            attributes={
                "rpc.system": "grpc",
                "rpc.grpc.status_code": 0,
                "rpc.method": "CrearReserva",
                "rpc.service": "aeroalpes.reservas.v1.ReservasService",
                "rpc.user_agent": "grpc-python/1.76.0 grpc-c/51.0.0 (linux; chttp2)",
                "net.peer.ip": "127.0.0.1",
                "net.peer.port": str(40000 + n % 20000),
                "net.peer.name": "localhost",
            },
        ) as span:
            with server.start_as_current_span(
                "/aeroalpes.pagos.v1.PagosService/Cobrar",
                kind=trace.SpanKind.CLIENT,
                attributes={
                    "rpc.system": "grpc",
                    "rpc.grpc.status_code": 0,
                    "rpc.method": "Cobrar",
                    "rpc.service": "aeroalpes.pagos.v1.PagosService",
                },
            ):
                pass
            if n % 20 == 0:
                span.set_attribute("rpc.grpc.status_code", 9)
                span.record_exception(RuntimeError("seat no longer free"))
                span.set_status(Status(StatusCode.ERROR, "FAILED_PRECONDITION: seat taken"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def protobuf_round_trip(path: Path) -> Callable[[Batch], None]:
    """What JsonLinesExporter.export did before issue #15's change, file write included."""

    def export(spans: Batch) -> None:
        request = json_format.MessageToDict(encode_spans(spans))
        for resource in request.get("resourceSpans", []):
            for scope in resource.get("scopeSpans", []):
                for span in scope.get("spans", []):
                    _hex_ids(span)
                    for link in span.get("links", []):
                        _hex_ids(link)
        with path.open("a") as out:
            out.write(json.dumps(request, separators=(",", ":")) + "\n")

    return export


def _hex_ids(item: dict[str, str]) -> None:
    for key in ("traceId", "spanId", "parentSpanId"):
        if item.get(key):
            item[key] = base64.b64decode(item[key]).hex()


def cpu_us_per_span(export: Callable[[Batch], None], batches: list[Batch]) -> float:
    started = time.process_time()
    for batch in batches:
        export(batch)
    return (time.process_time() - started) / sum(map(len, batches)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    spans = mesh_spans(args.batches * args.size)
    batches = [spans[i : i + args.size] for i in range(0, len(spans), args.size)]
    runs: dict[str, list[float]] = {"exporter": [], "protobuf_round_trip": []}
    with tempfile.TemporaryDirectory(prefix="bench-spans-") as folder:
        exporters = {
            "exporter": JsonLinesExporter(Path(folder, "exporter.jsonl")).export,
            "protobuf_round_trip": protobuf_round_trip(Path(folder, "reference.jsonl")),
        }
        for _ in range(args.repeats):
            for name, export in exporters.items():  # taking turns: drift hits both alike
                runs[name].append(cpu_us_per_span(export, batches))
        bytes_per_span = Path(folder, "exporter.jsonl").stat().st_size / len(spans) / args.repeats
    medians = {name: round(statistics.median(values), 2) for name, values in runs.items()}
    print(
        json.dumps(
            {
                "spans": len(spans),
                "batch": args.size,
                "repeats": args.repeats,
                "cpu_us_per_span_median": medians,
                "cpu_us_per_span_runs": {k: [round(v, 2) for v in vs] for k, vs in runs.items()},
                "bytes_per_span": round(bytes_per_span),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
