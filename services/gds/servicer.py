"""gRPC servicer of gds: protobuf -> command -> handler -> protobuf, nothing more."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, ClassVar

from aeroalpes.gds.v1 import gds_pb2, gds_pb2_grpc

from services.comun import proto
from services.comun.validacion import limite_de_legs, validar_itinerarios, violaciones_de_datos
from services.gds import tables
from services.gds.domain import Confirmacion
from services.gds.handlers import Handlers
from services.kit import identity
from services.kit.contract_rules import Bounds, DataRules
from services.kit.db import UnitOfWork
from services.kit.idempotency import IdempotencyStore, Idempotent
from services.kit.owners import ReservaOwner, reserva_owner
from services.kit.timestamps import to_timestamp
from services.kit.validation import Violations


def confirmacion_pb(c: Confirmacion) -> gds_pb2.Confirmacion:
    return gds_pb2.Confirmacion(
        id=c.id,
        id_reserva=c.id_reserva,
        codigo_localizador=c.codigo_localizador,
        estado=f"ESTADO_CONFIRMACION_{c.estado}",
        fecha_creacion=to_timestamp(c.fecha_creacion),
        fecha_actualizacion=to_timestamp(c.fecha_actualizacion),
    )


class GdsServicer(gds_pb2_grpc.GdsServiceServicer):
    CONTRACT_RULES = True  # requests checked against the protos' buf.validate rules (kit)
    # a count checked first, and data rules answered beside the contract's (contract_rules.checker)
    BOUNDS: ClassVar[dict[str, Bounds]] = {
        "ConfirmarReserva": lambda request: limite_de_legs(request.itinerarios)
    }
    DATA_RULES: ClassVar[dict[str, DataRules]] = {
        "ConfirmarReserva": lambda request, _: violaciones_de_datos(request.itinerarios)
    }

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        handlers: Handlers,
        owner_of: ReservaOwner | None = None,
    ) -> None:
        self.uow = uow
        self.handlers = handlers
        self.idempotent = Idempotent(IdempotencyStore(tables.idempotency_keys), uow)
        self.owner_of = owner_of or reserva_owner(
            os.environ.get("AEROALPES_RESERVAS_ADDR", "127.0.0.1:50062")
        )

    def ConfirmarReserva(self, request: Any, context: Any) -> gds_pb2.ConfirmarReservaResponse:
        itinerarios = proto.itinerarios_from_pb(request.itinerarios)
        v = Violations()
        validar_itinerarios(itinerarios, v)  # the data rules; the contract's were checked
        v.raise_if_any()
        self.handlers.simular_latencia()
        return self.idempotent.once(
            request,
            gds_pb2.ConfirmarReservaResponse,
            lambda s: gds_pb2.ConfirmarReservaResponse(
                confirmacion=confirmacion_pb(
                    self.handlers.confirmar(s, request.id_reserva, itinerarios)
                )
            ),
            context,
        )

    def RevertirConfirmacion(
        self, request: Any, context: Any
    ) -> gds_pb2.RevertirConfirmacionResponse:
        def work(session: Any) -> gds_pb2.RevertirConfirmacionResponse:
            c = self.handlers.revertir(session, request.id_reserva)
            return gds_pb2.RevertirConfirmacionResponse(
                confirmacion=confirmacion_pb(c) if c else None
            )

        return self.idempotent.once(request, gds_pb2.RevertirConfirmacionResponse, work, context)

    def ObtenerConfirmacion(
        self, request: Any, context: Any
    ) -> gds_pb2.ObtenerConfirmacionResponse:
        with self.uow().read_only() as uow:
            c = self.handlers.obtener(uow.session, request.id_reserva)
        if not identity.who(context).sees_all:
            owner = self.owner_of(request.id_reserva)
            identity.require_visible(context, owner, "confirmacion", request.id_reserva)
        return gds_pb2.ObtenerConfirmacionResponse(confirmacion=confirmacion_pb(c))
