"""gRPC servicer of sagas: protobuf -> command -> handler -> protobuf, nothing more."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, ClassVar

from aeroalpes.sagas.v1 import sagas_pb2, sagas_pb2_grpc

from services.comun import proto
from services.comun.validacion import limite_de_legs, validar_viaje, violaciones_de_datos
from services.kit import identity, paging
from services.kit.contract_rules import Bounds, DataRules
from services.kit.db import utcnow
from services.kit.errors import FieldViolation
from services.kit.idempotency import Idempotent, fingerprint
from services.kit.slots import Slots
from services.kit.timestamps import to_timestamp
from services.kit.validation import Violations
from services.sagas.domain import EstadoSaga, Saga
from services.sagas.handlers import Handlers, ReservarVuelo
from services.sagas.tramos import Tramo

_ESTADOS = {sagas_pb2.EstadoSaga.Value(f"ESTADO_SAGA_{e.value}"): e for e in EstadoSaga}
MAX_ESPERA_S = 120.0  # esperar without a client deadline still ends


def saga_pb(saga: Saga, log: Sequence[Tramo] = ()) -> sagas_pb2.Saga:
    return sagas_pb2.Saga(
        id=saga.id,
        tipo=saga.tipo,
        estado=f"ESTADO_SAGA_{saga.estado}",
        pasos=[
            sagas_pb2.Paso(
                indice=p.indice,
                nombre=p.nombre,
                estado=f"ESTADO_PASO_{p.estado}",
                intentos=p.intentos,
                error=p.error,
                fecha_actualizacion=to_timestamp(p.fecha_actualizacion),
            )
            for p in saga.pasos
        ],
        id_cliente=saga.id_cliente,
        id_reserva=saga.datos.get("id_reserva", ""),
        id_pago=saga.datos.get("id_pago", ""),
        codigo_localizador=saga.datos.get("codigo_localizador", ""),
        motivo=saga.motivo,
        fecha_creacion=to_timestamp(saga.fecha_creacion),
        fecha_actualizacion=to_timestamp(saga.fecha_actualizacion),
        proximo_intento=to_timestamp(saga.proximo_intento),
        version_definicion=saga.version_definicion,
        id_traza=trace_id(saga.traza),
        tramos=[
            sagas_pb2.Tramo(
                indice=t.indice,
                paso=t.paso,
                compensacion=t.compensacion,
                inicio=to_timestamp(t.inicio),
                fin=to_timestamp(t.fin),
                resultado=t.resultado,
            )
            for t in log
        ],
    )


def trace_id(traceparent: str | None) -> str:
    """The trace id of a W3C ``traceparent`` (version-traceid-spanid-flags)."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else ""


def reservar_command(
    request: sagas_pb2.ReservarVueloRequest, ahora: datetime | None = None
) -> ReservarVuelo:
    """Checks the trip's data rules (the contract's were checked by the kit) before any saga
    exists; with ``ahora`` (edge callers), also that its flights are on sale."""
    v = Violations()
    validar_viaje(proto.itinerarios_from_pb(request.itinerarios), v, ahora=ahora)
    v.raise_if_any()
    body = sagas_pb2.ReservarVueloRequest()
    body.CopyFrom(request)
    body.esperar = False  # waiting or not, it is the same booking
    return ReservarVuelo(
        id_cliente=request.id_cliente,
        itinerarios=[proto.dict_of(i) for i in request.itinerarios],
        pasajeros=[proto.dict_of(p) for p in request.pasajeros],
        medio_pago=request.medio_pago,
        idempotency_key=request.idempotency_key,
        huella=fingerprint(body),
    )


def _wait_budget(context: Any) -> float:
    remaining = context.time_remaining() if context is not None else None
    return MAX_ESPERA_S if remaining is None else max(0.0, min(MAX_ESPERA_S, remaining - 0.25))


# Long waits hold a server thread each: bounded per caller and in all, 32 below the server's
# SERVER_THREADS, so health checks and short calls always find a free one.
SERVER_THREADS = 256
STREAMS = Slots(per_key=4, total=32, what="observaciones")  # ObservarSaga
WAITS = Slots(per_key=64, total=192, what="esperas")  # ReservarVuelo with esperar


def _datos_reserva(request: Any, context: Any) -> Sequence[FieldViolation]:
    """The booking's data rules, for a request the contract refused (the clock: edge callers)."""
    publico = identity.caller(context) is not None
    return violaciones_de_datos(request.itinerarios, ahora=utcnow() if publico else None)


class SagasServicer(sagas_pb2_grpc.SagasServiceServicer):
    CONTRACT_RULES = True  # requests checked against the protos' buf.validate rules (kit)
    # a count checked first, and data rules answered beside the contract's (contract_rules.checker)
    BOUNDS: ClassVar[dict[str, Bounds]] = {
        "ReservarVuelo": lambda request: limite_de_legs(request.itinerarios)
    }
    DATA_RULES: ClassVar[dict[str, DataRules]] = {"ReservarVuelo": _datos_reserva}

    def __init__(self, handlers: Handlers, idempotent: Idempotent) -> None:
        self.handlers = handlers
        self.idempotent = idempotent  # ReanudarSaga's keys (ReservarVuelo's live in the saga row)

    def ReservarVuelo(self, request: Any, context: Any) -> sagas_pb2.ReservarVueloResponse:
        # Edge callers book only flights not yet gone; internal callers are exempt: the
        # tutorial's legacy API books its own 2022 sample (the one documented exception).
        publico = identity.caller(context) is not None
        cmd = reservar_command(request, ahora=utcnow() if publico else None)
        identity.require_owner(context, cmd.id_cliente, "la reserva")
        if not request.esperar:
            return sagas_pb2.ReservarVueloResponse(saga=saga_pb(self.handlers.reservar(cmd)))
        with WAITS.acquire(identity.caller(context) or "interno"):
            saga = self.handlers.esperar(self.handlers.reservar(cmd), _wait_budget(context))
        return sagas_pb2.ReservarVueloResponse(saga=saga_pb(saga))

    def ObtenerSaga(self, request: Any, context: Any) -> sagas_pb2.ObtenerSagaResponse:
        saga = self.handlers.obtener(request.id_saga)
        identity.require_visible(context, saga.id_cliente, "saga", request.id_saga)
        return sagas_pb2.ObtenerSagaResponse(saga=saga_pb(saga, self.handlers.tramos(saga)))

    def ListarSagas(self, request: Any, context: Any) -> sagas_pb2.ListarSagasResponse:
        q = paging.list_query(request, _ESTADOS)
        sagas, siguiente = self.handlers.listar(
            q.estado, identity.scoped(context, q.id_cliente), q.antes_de, q.limite
        )
        return sagas_pb2.ListarSagasResponse(
            sagas=[saga_pb(s) for s in sagas],
            next_page_token=paging.next_token(siguiente),
        )

    def ObservarSaga(self, request: Any, context: Any) -> Iterator[sagas_pb2.ObservarSagaResponse]:
        owner = self.handlers.obtener(request.id_saga).id_cliente
        identity.require_visible(context, owner, "saga", request.id_saga)
        with STREAMS.acquire(identity.caller(context) or "interno"):
            last, response = None, sagas_pb2.ObservarSagaResponse()
            for saga in self.handlers.observar(request.id_saga, context.is_active):
                if saga.version != last:  # else a repeat while idle: the same answer again
                    last = saga.version
                    response = sagas_pb2.ObservarSagaResponse(
                        saga=saga_pb(saga, self.handlers.tramos(saga))
                    )
                yield response

    def ReanudarSaga(self, request: Any, context: Any) -> sagas_pb2.ReanudarSagaResponse:
        identity.require_operator(context, "ReanudarSaga")  # edge callers: operators only
        response = self.idempotent.once(
            request,
            sagas_pb2.ReanudarSagaResponse,
            lambda s: sagas_pb2.ReanudarSagaResponse(
                saga=saga_pb(self.handlers.reanudar(s, request.id_saga))
            ),
            context,
        )
        self.handlers.impulsar(request.id_saga)  # a replayed call nudges it again: harmless
        return response
