"""gRPC servicer of reservas: protobuf -> command -> handler -> protobuf, nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2, reservas_pb2_grpc

from services.comun import proto
from services.comun.validacion import limite_de_legs, validar_viaje, violaciones_de_datos
from services.kit import identity, paging
from services.kit.contract_rules import Bounds, DataRules
from services.kit.db import UnitOfWork
from services.kit.idempotency import IdempotencyStore, Idempotent
from services.kit.timestamps import set_timestamp
from services.kit.validation import Violations
from services.reservas import tables
from services.reservas.domain import EstadoReserva, Reserva
from services.reservas.handlers import CrearReserva, Handlers

_ESTADOS = {reserva_pb2.EstadoReserva.Value(f"ESTADO_RESERVA_{e.value}"): e for e in EstadoReserva}
_NUMEROS_DE_ESTADO = {e: n for n, e in _ESTADOS.items()}
R = TypeVar("R")


def reserva_into(pb: reserva_pb2.Reserva, reserva: Reserva) -> None:
    """Writes the booking into an empty message in place (see proto.itinerarios_into)."""
    pb.id = reserva.id
    pb.id_cliente = reserva.id_cliente
    pb.estado = _NUMEROS_DE_ESTADO[reserva.estado]  # type: ignore[assignment]  # stubs: int enums
    proto.itinerarios_into(pb.itinerarios, reserva.itinerarios)
    proto.pasajeros_into(pb.pasajeros, reserva.pasajeros)
    # assigning a field sets the amount even when it is zero
    pb.monto.unidades_menores = reserva.monto
    pb.monto.moneda = reserva.moneda
    pb.monto_vat.unidades_menores = reserva.monto_vat
    pb.monto_vat.moneda = reserva.moneda
    set_timestamp(pb.fecha_creacion, reserva.fecha_creacion)
    set_timestamp(pb.fecha_actualizacion, reserva.fecha_actualizacion)


def con_reserva(response_type: type[R], reserva: Reserva | None) -> R:
    """A ``response_type`` carrying the booking (none when there is none)."""
    response = response_type()
    if reserva is not None:
        reserva_into(response.reserva, reserva)  # type: ignore[attr-defined]
    return response


def crear_command(request: reservas_pb2.CrearReservaRequest) -> CrearReserva:
    """The command, once the trip's data rules hold (the contract's were checked by the kit)."""
    cmd = CrearReserva(
        request.id_reserva,
        request.id_cliente,
        proto.itinerarios_from_pb(request.itinerarios),
        proto.pasajeros_from_pb(request.pasajeros),
    )
    v = Violations()
    validar_viaje(cmd.itinerarios, v)
    v.raise_if_any()
    return cmd


class ReservasServicer(reservas_pb2_grpc.ReservasServiceServicer):
    CONTRACT_RULES = True  # requests checked against the protos' buf.validate rules (kit)
    # a count checked first, and data rules answered beside the contract's (contract_rules.checker)
    BOUNDS: ClassVar[dict[str, Bounds]] = {
        "CrearReserva": lambda request: limite_de_legs(request.itinerarios)
    }
    DATA_RULES: ClassVar[dict[str, DataRules]] = {
        "CrearReserva": lambda request, _: violaciones_de_datos(request.itinerarios)
    }

    def __init__(self, uow: Callable[[], UnitOfWork], handlers: Handlers) -> None:
        self.uow = uow
        self.handlers = handlers
        self.idempotent = Idempotent(IdempotencyStore(tables.idempotency_keys), uow)

    def CrearReserva(self, request: Any, context: Any) -> reservas_pb2.CrearReservaResponse:
        cmd = crear_command(request)
        return self.idempotent.once(
            request,
            reservas_pb2.CrearReservaResponse,
            lambda s: con_reserva(reservas_pb2.CrearReservaResponse, self.handlers.crear(s, cmd)),
            context,
        )

    def AprobarReserva(self, request: Any, context: Any) -> reservas_pb2.AprobarReservaResponse:
        return self.idempotent.once(
            request,
            reservas_pb2.AprobarReservaResponse,
            lambda s: con_reserva(
                reservas_pb2.AprobarReservaResponse, self.handlers.aprobar(s, request.id_reserva)
            ),
            context,
        )

    def CancelarReserva(self, request: Any, context: Any) -> reservas_pb2.CancelarReservaResponse:
        return self.idempotent.once(
            request,
            reservas_pb2.CancelarReservaResponse,
            lambda s: con_reserva(
                reservas_pb2.CancelarReservaResponse,
                self.handlers.cancelar(s, request.id_reserva, request.motivo),
            ),
            context,
        )

    def ObtenerReserva(self, request: Any, context: Any) -> reservas_pb2.ObtenerReservaResponse:
        with self.uow().read_only() as uow:
            reserva = self.handlers.obtener(uow.session, request.id_reserva)
        identity.require_visible(context, reserva.id_cliente, "reserva", request.id_reserva)
        return con_reserva(reservas_pb2.ObtenerReservaResponse, reserva)

    def ListarReservas(self, request: Any, context: Any) -> reservas_pb2.ListarReservasResponse:
        q = paging.list_query(request, _ESTADOS)
        with self.uow().read_only() as uow:
            reservas, siguiente = self.handlers.listar(
                uow.session,
                identity.scoped(context, q.id_cliente),
                q.estado,
                q.antes_de,
                q.limite,
            )
        response = reservas_pb2.ListarReservasResponse(next_page_token=paging.next_token(siguiente))
        for r in reservas:
            reserva_into(response.reservas.add(), r)
        return response
