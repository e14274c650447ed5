"""Translates the tutorial's Reserva into ReservarVuelo and sagas back into RespuestaReserva."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import grpc
import vuelos_pb2
import vuelos_pb2_grpc
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2
from aeroalpes.sagas.v1 import sagas_pb2
from google.protobuf import json_format
from google.protobuf.message import Message
from grpc_status import rpc_status

from services.kit.errors import FieldViolation, InvalidRequest, NotFound
from services.vuelos import ESPERA_S, LECTURA_S

M = TypeVar("M", bound=Message)
RESERVAR = "/aeroalpes.sagas.v1.SagasService/ReservarVuelo"
OBTENER_SAGA = "/aeroalpes.sagas.v1.SagasService/ObtenerSaga"
OBTENER_RESERVA = "/aeroalpes.reservas.v1.ReservasService/ObtenerReserva"


def _same_shape(items: Any, target: type[M]) -> list[M]:
    """Copies itineraries between the tutorial's package and ours by field name: the shapes
    (odos -> segmentos -> legs, origen/destino codigo/nombre, timestamps) are the same; the
    tutorial's optional Itinerario.id has no counterpart and is dropped."""
    return [
        json_format.ParseDict(
            json_format.MessageToDict(item, preserving_proto_field_name=True),
            target(),
            ignore_unknown_fields=True,
        )
        for item in items
    ]


def itinerarios(legacy: Any) -> list[reserva_pb2.Itinerario]:
    """The client's itineraries in our shape. vuelos.proto has no rules, so a time JSON cannot
    hold (outside 0001-9999, negative nanos) is first seen here: the client's fault, named."""
    copied = []
    for i, item in enumerate(legacy):
        try:
            copied.extend(_same_shape([item], reserva_pb2.Itinerario))
        except (ValueError, json_format.Error) as error:  # SerializeToJsonError, ParseError
            raise InvalidRequest(
                [FieldViolation(f"itinerarios[{i}]", f"fecha fuera de rango: {error}")]
            ) from error
    return copied


def legacy_itinerarios(ours: Any) -> list[vuelos_pb2.Itinerario]:
    return _same_shape(ours, vuelos_pb2.Itinerario)


def mensaje(saga: sagas_pb2.Saga) -> str:
    estado = sagas_pb2.EstadoSaga.Name(saga.estado).removeprefix("ESTADO_SAGA_")
    if saga.estado == sagas_pb2.ESTADO_SAGA_COMPLETADA:
        return f"Reserva confirmada (saga {estado}), localizador {saga.codigo_localizador}"
    if saga.motivo:
        return f"Reserva no completada (saga {estado}): {saga.motivo}"
    return f"Reserva en proceso (saga {estado})"


class VuelosServicer(vuelos_pb2_grpc.VuelosServicer):
    CONTRACT_RULES = True  # requests checked against the protos' buf.validate rules (kit)

    def __init__(self, channel: grpc.Channel, id_cliente: str, medio_pago: str) -> None:
        self.id_cliente = id_cliente
        self.medio_pago = medio_pago
        self._reservar = channel.unary_unary(
            RESERVAR,
            sagas_pb2.ReservarVueloRequest.SerializeToString,
            sagas_pb2.ReservarVueloResponse.FromString,
        )
        self._obtener_saga = channel.unary_unary(
            OBTENER_SAGA,
            sagas_pb2.ObtenerSagaRequest.SerializeToString,
            sagas_pb2.ObtenerSagaResponse.FromString,
        )
        self._obtener_reserva = channel.unary_unary(
            OBTENER_RESERVA,
            reservas_pb2.ObtenerReservaRequest.SerializeToString,
            reservas_pb2.ObtenerReservaResponse.FromString,
        )

    def CrearReserva(self, request: Any, context: Any) -> vuelos_pb2.RespuestaReserva:
        booking = sagas_pb2.ReservarVueloRequest(
            id_cliente=self.id_cliente,
            itinerarios=itinerarios(request.itinerarios),
            # The tutorial's booking names no travellers: one adult in economy.
            pasajeros=[
                reserva_pb2.Pasajero(tipo="TIPO_PASAJERO_ADULTO", clase="CLASE_CABINA_ECONOMICA")
            ],
            medio_pago=self.medio_pago,
            idempotency_key=f"vuelos:{request.id}" if request.HasField("id") else str(uuid.uuid4()),
            esperar=True,
        )
        saga = self._call(context, self._reservar, booking, ESPERA_S).saga
        return self._respuesta(context, saga)

    def ConsultarReserva(self, request: Any, context: Any) -> vuelos_pb2.RespuestaReserva:
        saga = self._call(
            context,
            self._obtener_saga,
            sagas_pb2.ObtenerSagaRequest(id_saga=request.id),
            LECTURA_S,
        ).saga
        if saga.id_cliente != self.id_cliente:
            # Inside the mesh every saga is visible; this API shows only its own customer's,
            # and another's answers exactly like a missing one.
            raise NotFound("saga", request.id)
        return self._respuesta(context, saga)

    def _respuesta(self, context: Any, saga: sagas_pb2.Saga) -> vuelos_pb2.RespuestaReserva:
        reserva = vuelos_pb2.Reserva(
            id=saga.id,
            fecha_creacion=saga.fecha_creacion,
            fecha_actualizacion=saga.fecha_actualizacion,
        )
        if saga.id_reserva:
            try:
                found = self._obtener_reserva(
                    reservas_pb2.ObtenerReservaRequest(id_reserva=saga.id_reserva),
                    timeout=LECTURA_S,
                )
                reserva.itinerarios.extend(legacy_itinerarios(found.reserva.itinerarios))
            except grpc.RpcError:
                pass  # refused before the booking existed: the answer has no itineraries
        return vuelos_pb2.RespuestaReserva(mensaje=mensaje(saga), reserva=reserva)

    @staticmethod
    def _call(context: Any, send: Any, request: Any, timeout: float) -> Any:
        """Our services' answers, errors included, go back to the legacy client as they are."""
        try:
            return send(request, timeout=timeout)
        except grpc.RpcError as error:
            status = rpc_status.from_call(error)  # type: ignore[arg-type]
            if status is not None:
                context.abort_with_status(rpc_status.to_status(status))
            context.abort(error.code(), error.details())
