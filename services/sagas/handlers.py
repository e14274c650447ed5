"""Use cases of the orchestrator: start a booking saga, wait on it, read, list, watch, resume."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import grpc
from aeroalpes.clientes.v1 import clientes_pb2
from sqlalchemy import Connection

from services.kit import deadline, tracing
from services.kit.db import utcnow
from services.kit.errors import BusinessRefusal, DependencyUnavailable, NotFound
from services.kit.idempotency import scoped_key
from services.sagas import metrics
from services.sagas.booking import RESERVA, VALIDAR_CLIENTE
from services.sagas.caller import GrpcCaller, Outcome, StepFailure
from services.sagas.definition import Definitions, UnknownDefinition
from services.sagas.domain import EstadoSaga, Saga
from services.sagas.engine import Engine
from services.sagas.notifier import Notifier
from services.sagas.store import SagaStore
from services.sagas.tramos import Tramo, tramos

POLL_S = 0.5  # another orchestrator may drive a saga: re-read the log at least this often
VALIDATION_TIMEOUT_S = 5.0
# ObservarSaga repeats a saga unchanged this long (AEROALPES_SAGAS_LATIDO_MS): well under every
# stream idle timeout on the way (Envoy's, 300 s in the shipped config), as the UI's heartbeats.
LATIDO_S = 15.0


@dataclass(frozen=True)
class ReservarVuelo:
    id_cliente: str
    itinerarios: list[dict[str, Any]]
    pasajeros: list[dict[str, Any]]
    medio_pago: str
    idempotency_key: str
    huella: str


class Handlers:
    def __init__(
        self,
        store: SagaStore,
        engine: Engine,
        caller: GrpcCaller,
        notifier: Notifier,
        definitions: Definitions,
        clock: Callable[[], datetime] = utcnow,
        latido_s: float = LATIDO_S,
    ) -> None:
        self.store = store
        self.engine = engine
        self.caller = caller
        self.notifier = notifier
        self.definitions = definitions
        self.definition = definitions.current[RESERVA.tipo]  # new bookings start on it
        self.clock = clock
        self.latido_s = latido_s  # ObservarSaga's repeat while idle

    def reservar(self, cmd: ReservarVuelo) -> Saga:
        """Starts the saga (or returns the one this key started) and hands it to the engine."""
        id_saga, ahora = str(uuid.uuid4()), self.clock()
        datos = {
            "id_saga": id_saga,
            "id_reserva": str(uuid.uuid4()),
            "id_cliente": cmd.id_cliente,
            "itinerarios": cmd.itinerarios,
            "pasajeros": cmd.pasajeros,
            "medio_pago": cmd.medio_pago,
        }
        limite = ahora + timedelta(seconds=self.definition.deadline_s)
        nueva = Saga.nueva(
            id_saga,
            self.definition.tipo,
            self.definition.names,
            datos,
            cmd.id_cliente,
            ahora,
            limite,
            self.definition.version,
            tracing.current_traceparent(),
        )
        # Scoped by the customer booked for: another customer's identical key is another key
        # (it neither replays nor conflicts with theirs, so it reveals nothing).
        key = scoped_key(cmd.id_cliente, cmd.idempotency_key)
        existing = self.store.existing(key, cmd.huella)
        if existing is not None:
            return existing
        self._validar_cliente(cmd.id_cliente)
        saga, created = self.store.create(nueva, key, cmd.huella)
        if created:
            metrics.STARTED.labels(saga.tipo).inc()
            self.engine.submit(saga.id, written=saga)  # as written: no read back (issue #15)
        return saga

    def _validar_cliente(self, id_cliente: str) -> None:
        """Refuses an unknown or inactive customer before any saga is written."""
        request = clientes_pb2.ValidarUsuarioRequest(id_usuario=id_cliente)
        left = deadline.remaining()  # the caller's: no use waiting past it
        timeout = (
            VALIDATION_TIMEOUT_S if left is None else max(0.05, min(VALIDATION_TIMEOUT_S, left))
        )
        try:
            self.caller.call(VALIDAR_CLIENTE, request, timeout, request_id=id_cliente)
        except StepFailure as failure:
            if failure.outcome is not Outcome.REFUSED:
                raise DependencyUnavailable(f"clientes no responde: {failure.message}") from failure
            code = (
                failure.__cause__.code() if isinstance(failure.__cause__, grpc.RpcError) else None
            )  # type: ignore[attr-defined]
            if code == grpc.StatusCode.NOT_FOUND:
                raise NotFound("usuario", id_cliente) from failure
            raise BusinessRefusal("USUARIO_INACTIVO", failure.message) from failure

    def obtener(self, id_saga: str) -> Saga:
        saga = self.store.load(id_saga)
        if saga is None:
            raise NotFound("saga", id_saga)
        return saga

    def tramos(self, saga: Saga) -> list[Tramo]:
        return tramos(self.store.log(saga.id), [p.nombre for p in saga.pasos])

    def esperar(self, saga: Saga, budget_s: float) -> Saga:
        """The saga once terminal, or as it stands when the budget (the call's deadline) ends;
        ``saga``: as ``reservar`` returned it (written or read just now: not read again)."""
        end = time.monotonic() + budget_s
        id_saga, from_log = saga.id, False  # not read back: reservar's copy
        while not saga.terminal and time.monotonic() < end:
            news = self.notifier.wait(
                id_saga,
                min(POLL_S, max(0.0, end - time.monotonic())),
                after=saga.version,
                ending=True,  # the steps in between are not the client's business
            )
            # A transition this process wrote needs no read (re-reads were 15 % of the
            # orchestrator's CPU, and 6 % again in round 3): the engine hands over the saga as
            # stored. A poll (another orchestrator may drive it) and news of unknown content
            # are read from the log, and so is a parked saga, whose next attempt the database's
            # clock set.
            if news is None or news.estado is EstadoSaga.FALLIDA or news.proximo_intento:
                saga, from_log = self.obtener(id_saga), True
            else:
                saga, from_log = news, False
        return saga if from_log or saga.terminal else self.obtener(id_saga)

    def observar(self, id_saga: str, active: Callable[[], bool]) -> Iterator[Saga]:
        """The saga now, then once per transition, until final (at once if it already is); a
        parked saga is watched on, through its automatic retries. While nothing changes for
        ``latido_s``, the same saga again (the last one read, not read for it): a parked saga
        may be silent for minutes, longer than Envoy's stream idle timeout, which would end
        the stream with an error."""
        saga = self.obtener(id_saga)
        yield saga
        sent = time.monotonic()
        while not saga.final and active():
            # The repeat reads nothing more (late by up to POLL_S: nothing against minutes).
            self.notifier.wait(id_saga, POLL_S)
            current = self.obtener(id_saga)
            if current.version != saga.version:
                saga = current
            elif time.monotonic() - sent < self.latido_s:
                continue
            yield saga
            sent = time.monotonic()

    def listar(
        self, estado: EstadoSaga | None, id_cliente: str, antes_de: int | None, limite: int
    ) -> tuple[list[Saga], int | None]:
        return self.store.page(estado, id_cliente, antes_de, limite)

    def reanudar(self, session: Connection, id_saga: str) -> Saga:
        """FALLIDA -> COMPENSANDO in the caller's transaction; then ``impulsar`` drives it."""
        return self.store.resume(session, id_saga, self._conocida)

    def _conocida(self, saga: Saga) -> None:
        """Refuses a saga started on a definition this orchestrator does not have."""
        try:
            self.definitions.of(saga.tipo, saga.version_definicion, [p.nombre for p in saga.pasos])
        except UnknownDefinition as unknown:
            raise BusinessRefusal(
                "DEFINICION_DESCONOCIDA",
                f"este orquestador no tiene la definición {unknown} con la que empezó la saga",
                {"tipo": saga.tipo, "version": str(saga.version_definicion)},
            ) from unknown

    def impulsar(self, id_saga: str) -> None:
        """Wakes the saga's waiters and drives it (nothing happens if it has nothing to do)."""
        self.notifier.notify(id_saga)
        self.engine.submit(id_saga)
