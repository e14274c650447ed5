"""Review #18 (rev18): ``AEROALPES_TRAZAS_MUESTREO`` does not reach the Envoy that ``make run``
renders. With ``AEROALPES_OTLP_ENDPOINT`` set, every listener gets an OpenTelemetry tracer with the
HTTP connection manager's default sampling (100 %), whatever the setting says:

- ``0`` ("tracing off", README) still has Envoy trace every request to the collector, and its
  ``traceparent`` (sampled) is what the services store with each saga and outbox row;
- ``0.01`` still traces every booking end to end, the services keeping the edge's decision
  (tests/e2e/test_review18_sampling.py shows it on a live mesh).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from services.mesh.envoy import render
from services.mesh.runner import Runner
from services.mesh.settings import RunnerConfig

ENDPOINT = "http://127.0.0.1:4317"
ENTRY = {"edge", "vuelos"}  # listeners where a request from outside begins a trace


def managers(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for listener in config["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for network_filter in chain["filters"]:
                if network_filter["name"] == "envoy.filters.network.http_connection_manager":
                    yield network_filter["typed_config"]


def rendered(sampling: str) -> list[dict[str, Any]]:
    env = {"AEROALPES_OTLP_ENDPOINT": ENDPOINT, "AEROALPES_TRAZAS_MUESTREO": sampling}
    return list(managers(render(Runner(RunnerConfig.from_env(env)).topology())))


def test_tracing_off_renders_no_envoy_tracer() -> None:
    traced = [m["stat_prefix"] for m in rendered("0") if "tracing" in m]
    assert not traced, f"AEROALPES_TRAZAS_MUESTREO=0, yet Envoy traces on {traced}"


def test_envoy_samples_new_traces_at_the_configured_share() -> None:
    """Where traces begin (the edge, the tutorial's listener): the internal one joins traces
    whose decision is already made."""
    entry = {m["stat_prefix"]: m for m in rendered("0.01") if m["stat_prefix"] in ENTRY}
    assert set(entry) == ENTRY and all("tracing" in m for m in entry.values())
    samplings = {name: m["tracing"].get("random_sampling") for name, m in entry.items()}
    assert all(s is not None and float(s["value"]) == 1.0 for s in samplings.values()), (
        f"Envoy's random_sampling at AEROALPES_TRAZAS_MUESTREO=0.01: {samplings}"
    )
