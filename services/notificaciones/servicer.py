"""gRPC servicer of notificaciones: protobuf -> handler -> protobuf, nothing more."""

from __future__ import annotations

from typing import Any

from aeroalpes.notificaciones.v1 import notificaciones_pb2, notificaciones_pb2_grpc

from services.kit import identity, paging
from services.kit.timestamps import to_timestamp
from services.notificaciones.domain import Notificacion
from services.notificaciones.handlers import Handlers


def notificacion_pb(n: Notificacion) -> notificaciones_pb2.Notificacion:
    return notificaciones_pb2.Notificacion(
        id=n.id,
        id_evento=n.id_evento,
        tipo_evento=n.tipo_evento,
        id_cliente=n.id_cliente,
        id_reserva=n.id_reserva,
        email=n.email,
        asunto=n.asunto,
        cuerpo=n.cuerpo,
        fecha_creacion=to_timestamp(n.fecha_creacion),
    )


class NotificacionesServicer(notificaciones_pb2_grpc.NotificacionesServiceServicer):
    CONTRACT_RULES = True  # requests checked against the protos' buf.validate rules (kit)

    def __init__(self, handlers: Handlers) -> None:
        self.handlers = handlers

    def ListarNotificaciones(
        self, request: Any, context: Any
    ) -> notificaciones_pb2.ListarNotificacionesResponse:
        found, siguiente = self.handlers.listar(
            identity.scoped(context, request.id_cliente),
            request.id_reserva,
            paging.decode(request.page_token),
            paging.page_size(request.page_size),
        )
        return notificaciones_pb2.ListarNotificacionesResponse(
            notificaciones=[notificacion_pb(n) for n in found],
            next_page_token=paging.encode(siguiente) if siguiente is not None else "",
        )
