"""Trace files stay bounded: one grows to its limit then becomes .1, and a process starting
keeps only its service's last few files."""

import json
import os
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from services.kit.tracing import JsonLinesExporter, forget_old_files


def test_a_full_file_becomes_dot_one_and_the_one_before_goes(tmp_path: Path) -> None:
    path = tmp_path / "sagas-1.jsonl"
    exporter = JsonLinesExporter(path, max_bytes=2_000)
    provider = TracerProvider(resource=Resource.create({"service.name": "aeroalpes-sagas"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    for n in range(60):
        with tracer.start_as_current_span(f"span {n}"):
            pass
    provider.shutdown()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["sagas-1.jsonl", "sagas-1.jsonl.1"]
    assert all(p.stat().st_size < 2_000 + 1_000 for p in tmp_path.iterdir())  # one line over
    last = json.loads(path.read_text().splitlines()[-1])
    span = last["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["name"] == "span 59" and len(span["traceId"]) == 32  # OTLP JSON: hex ids


def test_a_starting_process_keeps_its_services_last_files_only(tmp_path: Path) -> None:
    for n in range(12):
        old = tmp_path / f"pagos-{n}.jsonl"
        old.write_text("{}\n")
        os.utime(old, (n, n))
    (tmp_path / "sagas-1.jsonl").write_text("{}\n")
    forget_old_files(tmp_path, "pagos", keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "pagos-10.jsonl", "pagos-11.jsonl", "pagos-9.jsonl", "sagas-1.jsonl"
    ]  # fmt: skip
