"""gRPC servicer of reservas: protobuf -> command -> handler -> protobuf, nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from aeroalpes.comun.v1 import dinero_pb2
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2, reservas_pb2_grpc

from services.comun import proto
from services.comun.validacion import limite_de_legs, validar_viaje, violaciones_de_datos
from services.kit import identity, paging
from services.kit.contract_rules import Bounds, DataRules
from services.kit.db import UnitOfWork
from services.kit.idempotency import IdempotencyStore, Idempotent
from services.kit.timestamps import to_timestamp
from services.kit.validation import Violations
from services.reservas import tables
from services.reservas.domain import EstadoReserva, Reserva
from services.reservas.handlers import CrearReserva, Handlers

_ESTADOS = {reserva_pb2.EstadoReserva.Value(f"ESTADO_RESERVA_{e.value}"): e for e in EstadoReserva}


def reserva_pb(reserva: Reserva) -> reserva_pb2.Reserva:
    return reserva_pb2.Reserva(
        id=reserva.id,
        id_cliente=reserva.id_cliente,
        estado=f"ESTADO_RESERVA_{reserva.estado}",
        itinerarios=proto.itinerarios_to_pb(reserva.itinerarios),
        pasajeros=proto.pasajeros_to_pb(reserva.pasajeros),
        monto=dinero_pb2.Dinero(unidades_menores=reserva.monto, moneda=reserva.moneda),
        monto_vat=dinero_pb2.Dinero(unidades_menores=reserva.monto_vat, moneda=reserva.moneda),
        fecha_creacion=to_timestamp(reserva.fecha_creacion),
        fecha_actualizacion=to_timestamp(reserva.fecha_actualizacion),
    )


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
            lambda s: reservas_pb2.CrearReservaResponse(
                reserva=reserva_pb(self.handlers.crear(s, cmd))
            ),
            context,
        )

    def AprobarReserva(self, request: Any, context: Any) -> reservas_pb2.AprobarReservaResponse:
        return self.idempotent.once(
            request,
            reservas_pb2.AprobarReservaResponse,
            lambda s: reservas_pb2.AprobarReservaResponse(
                reserva=reserva_pb(self.handlers.aprobar(s, request.id_reserva))
            ),
            context,
        )

    def CancelarReserva(self, request: Any, context: Any) -> reservas_pb2.CancelarReservaResponse:
        def work(session: Any) -> reservas_pb2.CancelarReservaResponse:
            reserva = self.handlers.cancelar(session, request.id_reserva, request.motivo)
            return reservas_pb2.CancelarReservaResponse(
                reserva=reserva_pb(reserva) if reserva else None
            )

        return self.idempotent.once(request, reservas_pb2.CancelarReservaResponse, work, context)

    def ObtenerReserva(self, request: Any, context: Any) -> reservas_pb2.ObtenerReservaResponse:
        with self.uow().read_only() as uow:
            reserva = self.handlers.obtener(uow.session, request.id_reserva)
        identity.require_visible(context, reserva.id_cliente, "reserva", request.id_reserva)
        return reservas_pb2.ObtenerReservaResponse(reserva=reserva_pb(reserva))

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
        return reservas_pb2.ListarReservasResponse(
            reservas=[reserva_pb(r) for r in reservas],
            next_page_token=paging.next_token(siguiente),
        )
