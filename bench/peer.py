"""The peer: DBOS Transact running the same five participant calls as a durable workflow,
with the same compensation logic (reverse order, on a refusal)."""

from __future__ import annotations

from typing import Any

import grpc
from aeroalpes.clientes.v1 import clientes_pb2
from aeroalpes.comun.v1 import dinero_pb2
from aeroalpes.gds.v1 import gds_pb2
from aeroalpes.pagos.v1 import pagos_pb2
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2
from dbos import DBOS

from bench.calls import Participants

participants: Participants | None = None


def _p() -> Participants:
    assert participants is not None, "set bench.peer.participants before launching"
    return participants


@DBOS.step()
def validar(id_cliente: str) -> None:
    _p().call("ValidarUsuario", clientes_pb2.ValidarUsuarioRequest(id_usuario=id_cliente))


@DBOS.step()
def crear(id_reserva: str, id_cliente: str, itinerario: bytes, key: str) -> int:
    request = reservas_pb2.CrearReservaRequest(
        id_reserva=id_reserva,
        id_cliente=id_cliente,
        idempotency_key=key,
        itinerarios=[reserva_pb2.Itinerario.FromString(itinerario)],
        pasajeros=[
            reserva_pb2.Pasajero(tipo="TIPO_PASAJERO_ADULTO", clase="CLASE_CABINA_ECONOMICA")
        ],
    )
    reserva = _p().call("CrearReserva", request).reserva
    return int(reserva.monto.unidades_menores + reserva.monto_vat.unidades_menores)


@DBOS.step()
def pagar(id_reserva: str, id_cliente: str, monto: int, key: str) -> None:
    dinero = dinero_pb2.Dinero(unidades_menores=monto, moneda="COP")
    request = pagos_pb2.PagarReservaRequest(
        id_reserva=id_reserva,
        id_cliente=id_cliente,
        monto=dinero,
        medio_pago="tarjeta-visa",
        idempotency_key=key,
    )
    _p().call("PagarReserva", request)


@DBOS.step()
def confirmar(id_reserva: str, itinerario: bytes, key: str) -> str:
    request = gds_pb2.ConfirmarReservaRequest(
        id_reserva=id_reserva,
        itinerarios=[reserva_pb2.Itinerario.FromString(itinerario)],
        idempotency_key=key,
    )
    return str(_p().call("ConfirmarReserva", request).confirmacion.codigo_localizador)


@DBOS.step()
def aprobar(id_reserva: str, key: str) -> None:
    _p().call(
        "AprobarReserva",
        reservas_pb2.AprobarReservaRequest(id_reserva=id_reserva, idempotency_key=key),
    )


@DBOS.step()
def compensar(method: str, id_reserva: str, key: str) -> None:
    requests: dict[str, Any] = {
        "CancelarReserva": reservas_pb2.CancelarReservaRequest(
            id_reserva=id_reserva, motivo="peer", idempotency_key=key
        ),
        "RevertirPago": pagos_pb2.RevertirPagoRequest(id_reserva=id_reserva, idempotency_key=key),
        "RevertirConfirmacion": gds_pb2.RevertirConfirmacionRequest(
            id_reserva=id_reserva, idempotency_key=key
        ),
    }
    _p().call(method, requests[method])


@DBOS.workflow()
def reservar(id_reserva: str, id_cliente: str, itinerario: bytes) -> str:
    """The booking saga, DBOS-style: steps recorded by DBOS, compensations in reverse order."""
    wf = DBOS.workflow_id
    undo: list[str] = []
    try:
        validar(id_cliente)
        monto = crear(id_reserva, id_cliente, itinerario, f"{wf}:1:action")
        undo.append("CancelarReserva")
        pagar(id_reserva, id_cliente, monto, f"{wf}:2:action")
        undo.append("RevertirPago")
        localizador = confirmar(id_reserva, itinerario, f"{wf}:3:action")
        undo.append("RevertirConfirmacion")
        aprobar(id_reserva, f"{wf}:4:action")
        return localizador
    except grpc.RpcError:
        for n, method in enumerate(reversed(undo)):
            compensar(method, id_reserva, f"{wf}:{n}:compensation")
        return ""
