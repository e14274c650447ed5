"""Every process of a `make run` mesh serves Prometheus metrics on its own port: the exposition
parses with the client library's own parser, and after three bookings the saga, step, RPC, relay
and consumer figures moved by exactly what happened. A method name a client invents never becomes
a series, and no label carries an id."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.components import REPO, wait_until
from tests.support.edge import book, register
from tests.support.mesh import Mesh

SERVED = ("clientes", "reservas", "pagos", "gds", "sagas", "cdc", "notificaciones", "ui")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def mesh(default_mesh: Mesh) -> Mesh:
    return default_mesh


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def metrics(mesh: Mesh, service: str) -> Samples:
    return scrape(f"http://127.0.0.1:{mesh.ports[f'{service.upper()}_METRICS']}/metrics")


def names(mesh: Mesh, service: str) -> set[str]:
    return {name for (name, _labels) in metrics(mesh, service)}


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over the series whose labels include ``labels`` (0 when none)."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def test_every_endpoint_parses_and_the_figures_move_by_what_happened(mesh: Mesh) -> None:
    before = {service: metrics(mesh, service) for service in SERVED}
    customer = register(mesh)
    outcomes = [book(mesh, customer)["estado"] for _ in range(2)]
    outcomes.append(book(mesh, customer, "tarjeta-rechazada")["estado"])
    assert outcomes == ["ESTADO_SAGA_COMPLETADA"] * 2 + ["ESTADO_SAGA_COMPENSADA"]

    sagas = metrics(mesh, "sagas")
    moved = lambda name, **ls: value(sagas, name, **ls) - value(before["sagas"], name, **ls)  # noqa: E731
    assert moved("aeroalpes_sagas_started_total", saga_type="reserva") == 3
    assert moved("aeroalpes_sagas_ended_total", saga_type="reserva", outcome="completed") == 2
    assert moved("aeroalpes_sagas_ended_total", saga_type="reserva", outcome="compensated") == 1
    ok_actions = {"kind": "action", "outcome": "ok"}
    for step in ("crear_reserva", "pagar_reserva"):
        assert moved("aeroalpes_saga_step_attempts_total", step=step, **ok_actions) >= 2
        assert moved("aeroalpes_saga_step_call_seconds_count", step=step, **ok_actions) >= 2
    assert moved("aeroalpes_saga_step_attempts_total", step="pagar_reserva", outcome="refused") >= 1
    assert moved("aeroalpes_saga_step_attempts_total", kind="compensation", outcome="ok") >= 1
    reservar = {"grpc_service": "aeroalpes.sagas.v1.SagasService", "grpc_method": "ReservarVuelo"}
    assert moved("grpc_server_handled_total", grpc_code="OK", **reservar) == 3
    assert moved("grpc_server_handling_seconds_count", **reservar) == 3

    pagos = metrics(mesh, "pagos")
    pagar = {"grpc_service": "aeroalpes.pagos.v1.PagosService", "grpc_method": "PagarReserva"}
    by_code = {
        code: value(pagos, "grpc_server_handled_total", grpc_code=code, **pagar)
        - value(before["pagos"], "grpc_server_handled_total", grpc_code=code, **pagar)
        for code in ("OK", "FAILED_PRECONDITION")
    }
    assert by_code == {"OK": 2, "FAILED_PRECONDITION": 1}  # the refused card, by its code

    def relayed_and_consumed() -> bool:
        cdc, notificaciones = metrics(mesh, "cdc"), metrics(mesh, "notificaciones")
        name, saga_topic = "aeroalpes_consumed_messages_total", {"topic": "eventos-saga"}
        published = value(cdc, "aeroalpes_cdc_published_messages_total")
        consumed = value(notificaciones, name, **saga_topic)
        return published > value(before["cdc"], "aeroalpes_cdc_published_messages_total") and (
            consumed >= value(before["notificaciones"], name, **saga_topic) + 3
        )

    wait_until(relayed_and_consumed, 60, "the relay's and the consumer's counters to move")
    cdc = metrics(mesh, "cdc")
    assert value(cdc, "aeroalpes_cdc_up") == 1
    assert value(cdc, "aeroalpes_cdc_lag_seconds") >= 0
    for service in SERVED:  # every process, every label: no saga, booking or customer id
        for (name, labels), _v in metrics(mesh, service).items():
            assert not [v for _, v in labels if UUID.search(v)], (service, name, labels)


def test_envoys_own_metrics_parse(mesh: Mesh) -> None:
    samples = scrape(f"http://127.0.0.1:{mesh.ports['ENVOY_ADMIN']}/stats/prometheus")
    assert value(samples, "envoy_server_live") == 1


def test_a_refused_request_counts_under_the_code_the_client_got(mesh: Mesh) -> None:
    pagar = {"grpc_service": "aeroalpes.pagos.v1.PagosService", "grpc_method": "PagarReserva"}

    def invalid() -> float:
        samples = metrics(mesh, "pagos")
        return value(samples, "grpc_server_handled_total", grpc_code="INVALID_ARGUMENT", **pagar)

    before = invalid()
    channel = grpc.insecure_channel(f"127.0.0.1:{mesh.ports['PAGOS']}")
    call = channel.unary_unary(f"/{pagar['grpc_service']}/PagarReserva", lambda b: b, lambda b: b)
    with pytest.raises(grpc.RpcError) as refused:
        call(b"", timeout=5)  # an empty request: every required field missing
    channel.close()
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert invalid() == before + 1


def test_an_invented_method_name_creates_no_series(mesh: Mesh) -> None:
    channel = grpc.insecure_channel(f"127.0.0.1:{mesh.ports['PAGOS']}")
    invented = "/aeroalpes.pagos.v1.PagosService/Inventado" + "x" * 20
    call = channel.unary_unary(invented, lambda b: b, lambda b: b)
    with pytest.raises(grpc.RpcError) as refused:
        call(b"", timeout=5)
    channel.close()
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
    names = {dict(labels).get("grpc_method") for (_n, labels) in metrics(mesh, "pagos")}
    assert not [n for n in names if n and n.startswith("Inventado")]


def test_the_banner_lists_every_metrics_endpoint(mesh: Mesh) -> None:
    banner = Path(mesh.output).read_text()
    for service in SERVED:
        assert f"{service} {mesh.ports[f'{service.upper()}_METRICS']}" in banner
    assert f"http://127.0.0.1:{mesh.ports['ENVOY_ADMIN']}/stats/prometheus (Envoy)" in banner


def test_the_dashboard_asks_only_for_figures_the_services_expose(mesh: Mesh) -> None:
    book(mesh, register(mesh))  # one saga, so the consumers have a lag to show
    lag = "aeroalpes_consumer_lag_seconds"
    wait_until(lambda: lag in names(mesh, "ui"), 60, "the ui bridge consuming")
    dashboard = json.loads((REPO / "deploy" / "grafana" / "aeroalpes-sagas.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    asked = {n for e in exprs for n in re.findall(r"\b(?:aeroalpes|grpc_server)_\w+", e)}
    exposed = {name for service in SERVED for name in names(mesh, service)}
    assert len(asked) >= 8 and not asked - exposed, sorted(asked - exposed)
