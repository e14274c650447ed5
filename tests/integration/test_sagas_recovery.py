"""Outages and crashes: participants stopped and restarted, the orchestrator SIGKILLed at chosen
points, two orchestrators on one MariaDB. Each test runs its own orchestrators (SQLite unless
said); the tests that need participants with the default settings share one set (the crash tests
kill only orchestrators; the outage tests stop pagos and start it again)."""

import contextlib
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple

import grpc
import pytest
from aeroalpes.sagas.v1 import sagas_pb2

from tests.support import builders as b
from tests.support.components import stop_process, wait_until
from tests.support.mariadb import start_mariadb
from tests.support.orchestrator import (
    GDS_ANSWERS,
    STEP,
    assert_consistent,
    booking,
    new_customer,
    paso,
    saga_events,
    start_orchestrator,
    stub,
    wait_gds_refusal,
    wait_state,
    wait_terminal,
)
from tests.support.participants import Participants, restart, start_participants


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def own_participants(stack: ExitStack, tmp_path: Path, **env: str) -> Participants:
    return start_participants(stack, "sqlite", None, tmp_path, env=env)


class Shared(NamedTuple):
    stack: ExitStack  # the module's: a participant a test starts again stays up for the next
    participants: Participants


@pytest.fixture(scope="module")
def module_participants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    with ExitStack() as stack:
        yield Shared(stack, own_participants(stack, tmp_path_factory.mktemp("shared")))


@pytest.fixture
def shared(module_participants: Shared) -> Iterator[Shared]:
    """Participants with the default settings, shared (a start and a stop are seconds each) by
    tests that kill only orchestrators of their own or stop a participant and start it again
    (on ``shared.stack``); each books for a customer of its own, and every saga of theirs ends
    before the test does."""
    yield module_participants
    p = module_participants.participants
    for context, service in list(p.services.items()):
        if service.process.poll() is not None:  # a test failed before starting it again
            restart(module_participants.stack, p, context)


def wait_event(p: Participants, id_saga: str, tipo: str, paso: int) -> None:
    wait_until(
        lambda: any(e.tipo == tipo and e.paso == paso for e in saga_events(p, id_saga)),
        30,
        f"{tipo} on step {paso} of saga {id_saga}",
    )


def test_participant_back_within_the_step_timeout_lets_the_saga_complete(
    stack: ExitStack, shared: Shared
) -> None:
    p = shared.participants
    sagas = stub(start_orchestrator(stack, p, {"AEROALPES_SAGAS_PASO_TIMEOUT_MS": "30000"}))
    cliente = new_customer(p)
    stop_process(p.services["pagos"].process)
    saga = sagas.ReservarVuelo(booking(cliente, esperar=False), timeout=30).saga
    wait_event(p, saga.id, "PASO_REINTENTO", STEP["pagar_reserva"])
    restart(shared.stack, p, "pagos")
    final = wait_terminal(sagas, saga.id)
    assert final.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA, final.motivo
    assert paso(final, "pagar_reserva").intentos > 1
    assert_consistent(p, final)


def test_participant_that_stays_down_parks_the_saga_until_its_step_is_undone(
    stack: ExitStack, shared: Shared
) -> None:
    # A call that failed may have reached pagos (no error text can prove otherwise), so the
    # payment step is undone too; with pagos still down the saga parks, then converges.
    p = shared.participants
    sagas = stub(start_orchestrator(stack, p, {"AEROALPES_SAGAS_PASO_TIMEOUT_MS": "1500"}))
    cliente = new_customer(p)
    stop_process(p.services["pagos"].process)
    saga = sagas.ReservarVuelo(booking(cliente), timeout=30).saga
    assert saga.estado == sagas_pb2.ESTADO_SAGA_FALLIDA, saga
    # What its customer reads: why, in words; not grpcio's "failed to connect … ipv4:host:port".
    assert (
        paso(saga, "pagar_reserva").error == "UNAVAILABLE: el servicio de pagos no está disponible"
    )
    assert "127.0.0.1" not in saga.motivo and "failed to connect" not in saga.motivo
    restart(shared.stack, p, "pagos")
    final = wait_state(sagas, saga.id, sagas_pb2.ESTADO_SAGA_COMPENSADA)
    assert paso(final, "pagar_reserva").estado == sagas_pb2.ESTADO_PASO_COMPENSADO
    assert p.count("pagos", "pagos", id_reserva=final.id_reserva, estado="LAPIDA") == 1
    assert_consistent(p, final)


def _gds_refusal_with_pagos_down(stack: ExitStack, tmp_path: Path, attempts: str):  # type: ignore[no-untyped-def]
    """A GDS refusal whose refund finds pagos stopped: pagos goes down while GDS thinks."""
    p = own_participants(stack, tmp_path, AEROALPES_GDS_LATENCIA_MS="1500")
    sagas = stub(
        start_orchestrator(
            stack, p, {**GDS_ANSWERS, "AEROALPES_SAGAS_COMPENSACION_INTENTOS": attempts}
        )
    )
    saga = sagas.ReservarVuelo(
        booking(new_customer(p), "BOG", b.SIN_CUPO, esperar=False), timeout=30
    ).saga
    wait_event(p, saga.id, "PASO_INICIADO", STEP["confirmar_gds"])
    stop_process(p.services["pagos"].process)
    wait_gds_refusal(p, saga.id)
    return p, sagas, saga


def test_compensation_is_retried_until_the_participant_returns(
    stack: ExitStack, tmp_path: Path
) -> None:
    p, sagas, saga = _gds_refusal_with_pagos_down(stack, tmp_path, attempts="100")
    wait_event(p, saga.id, "COMPENSACION_REINTENTO", STEP["pagar_reserva"])
    restart(stack, p, "pagos")
    final = wait_terminal(sagas, saga.id)
    assert final.estado == sagas_pb2.ESTADO_SAGA_COMPENSADA
    assert (
        paso(final, "pagar_reserva").intentos > 2
    )  # the payment, then more than one refund attempt
    assert_consistent(p, final)


CRASHES = {
    "after the log write, before the payment RPC": (
        "antes_rpc:pagar_reserva",
        (),
        sagas_pb2.ESTADO_SAGA_COMPLETADA,
    ),
    "after the payment RPC, before the log write": (
        "despues_rpc:pagar_reserva",
        (),
        sagas_pb2.ESTADO_SAGA_COMPLETADA,
    ),
    "after the GDS RPC, before the log write": (
        "despues_rpc:confirmar_gds",
        (),
        sagas_pb2.ESTADO_SAGA_COMPLETADA,
    ),
    "during the refund": (
        "compensando:pagar_reserva",
        ("BOG", b.SIN_CUPO),
        sagas_pb2.ESTADO_SAGA_COMPENSADA,
    ),
}


@pytest.mark.parametrize("case", CRASHES, ids=list(CRASHES))
def test_orchestrator_killed_at_a_chosen_point_resumes_from_the_log(
    stack: ExitStack, shared: Shared, case: str
) -> None:
    point, codigos, expected = CRASHES[case]
    p = shared.participants
    cliente = new_customer(p)
    doomed = start_orchestrator(stack, p, {"AEROALPES_SAGAS_FALLA": point})
    # The process may die before its answer leaves: the saga is in the log all the same.
    with contextlib.suppress(grpc.RpcError):
        stub(doomed).ReservarVuelo(booking(cliente, *codigos, esperar=False), timeout=30)
    wait_until(lambda: doomed.process.poll() is not None, 30, "the orchestrator to kill itself")
    assert doomed.process.returncode == -9
    sagas = stub(start_orchestrator(stack, p))
    [saga] = sagas.ListarSagas(sagas_pb2.ListarSagasRequest(id_cliente=cliente), timeout=10).sagas
    final = wait_terminal(sagas, saga.id)
    assert final.estado == expected, final.motivo
    assert_consistent(p, final)
    owners = {e.propietario for e in saga_events(p, saga.id)}
    assert len(owners) == 2  # the killed orchestrator, then the one that recovered it


@contextmanager
def private_mariadb(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "mariadb").mkdir()
    servers = start_mariadb(tmp_path / "mariadb")
    server = next(servers)
    try:
        yield server.url
    finally:
        servers.close()


def test_two_orchestrators_on_one_mariadb_drive_each_saga_alone(
    stack: ExitStack, tmp_path: Path
) -> None:
    db_url = stack.enter_context(private_mariadb(tmp_path))
    (tmp_path / "var").mkdir()
    p = start_participants(stack, "mariadb", db_url, tmp_path / "var")
    # A lease long enough for this loaded machine: takeovers are for crashes, not slow writes.
    lease = {"AEROALPES_SAGAS_LEASE_MS": "15000"}
    orchestrators = [stub(start_orchestrator(stack, p, lease)) for _ in range(2)]
    cliente = new_customer(p)
    results: list[sagas_pb2.Saga] = []
    lock = threading.Lock()

    def book(n: int) -> None:
        request = booking(cliente, *(("BOG", b.SIN_CUPO) if n % 4 == 3 else ()))
        saga = orchestrators[n % 2].ReservarVuelo(request, timeout=120).saga
        with lock:
            results.append(saga)

    threads = [threading.Thread(target=book, args=(n,)) for n in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 100
    for saga in results:
        assert saga.estado in (sagas_pb2.ESTADO_SAGA_COMPLETADA, sagas_pb2.ESTADO_SAGA_COMPENSADA)
        # A saga still queued when its lease ran out may be taken over before its first step;
        # its steps are still driven by exactly one orchestrator.
        assert len({e.propietario for e in saga_events(p, saga.id) if e.paso >= 0}) == 1
        assert_consistent(p, saga)
    assert len({e.propietario for s in results for e in saga_events(p, s.id)}) == 2
