"""gRPC servicer of pagos: protobuf -> command -> handler -> protobuf, nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aeroalpes.comun.v1 import dinero_pb2
from aeroalpes.pagos.v1 import pagos_pb2, pagos_pb2_grpc

from services.kit import identity
from services.kit.db import UnitOfWork
from services.kit.idempotency import IdempotencyStore, Idempotent
from services.kit.timestamps import to_timestamp
from services.pagos import tables
from services.pagos.domain import Pago
from services.pagos.handlers import Handlers, PagarReserva
from services.pagos.uow import SqlUnitOfWork


def pago_pb(pago: Pago) -> pagos_pb2.Pago:
    return pagos_pb2.Pago(
        id=pago.id,
        id_reserva=pago.id_reserva,
        id_cliente=pago.id_cliente,
        monto=dinero_pb2.Dinero(unidades_menores=pago.monto, moneda=pago.moneda),
        medio_pago=pago.medio_pago,
        estado=f"ESTADO_PAGO_{pago.estado}",
        fecha_creacion=to_timestamp(pago.fecha_creacion),
        fecha_actualizacion=to_timestamp(pago.fecha_actualizacion),
    )


def pagar_command(request: pagos_pb2.PagarReservaRequest) -> PagarReserva:
    """The command (its rules are the contract's, checked by the kit before the servicer)."""
    return PagarReserva(
        request.id_reserva,
        request.id_cliente,
        request.monto.unidades_menores,
        request.monto.moneda,
        request.medio_pago,
    )


class PagosServicer(pagos_pb2_grpc.PagosServiceServicer):
    CONTRACT_RULES = True  # requests checked against the protos' buf.validate rules (kit)

    def __init__(self, uow: Callable[[], UnitOfWork], handlers: Handlers) -> None:
        self.uow = uow
        self.handlers = handlers
        self.idempotent = Idempotent(IdempotencyStore(tables.idempotency_keys), uow)

    def PagarReserva(self, request: Any, context: Any) -> pagos_pb2.PagarReservaResponse:
        cmd = pagar_command(request)
        return self.idempotent.once(
            request,
            pagos_pb2.PagarReservaResponse,
            lambda s: pagos_pb2.PagarReservaResponse(
                pago=pago_pb(self.handlers.pagar(SqlUnitOfWork(s), cmd))
            ),
            context,
        )

    def RevertirPago(self, request: Any, context: Any) -> pagos_pb2.RevertirPagoResponse:
        def work(session: Any) -> pagos_pb2.RevertirPagoResponse:
            pago = self.handlers.revertir(SqlUnitOfWork(session), request.id_reserva)
            return pagos_pb2.RevertirPagoResponse(pago=pago_pb(pago) if pago else None)

        return self.idempotent.once(request, pagos_pb2.RevertirPagoResponse, work, context)

    def ObtenerPago(self, request: Any, context: Any) -> pagos_pb2.ObtenerPagoResponse:
        with self.uow().read_only() as uow:
            pago = self.handlers.obtener(SqlUnitOfWork(uow.session), request.id_pago)
        identity.require_visible(context, pago.id_cliente, "pago", request.id_pago)
        return pagos_pb2.ObtenerPagoResponse(pago=pago_pb(pago))
