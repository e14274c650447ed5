"""The booking saga (tipo "reserva") as data: create, pay, confirm with GDS, approve.

Version 2 is current. Version 1 also validated the customer as step 0, which ReservarVuelo
already does before the saga exists; it stays loaded so sagas started on it finish on it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aeroalpes.clientes.v1 import clientes_pb2
from aeroalpes.comun.v1 import dinero_pb2
from aeroalpes.gds.v1 import gds_pb2
from aeroalpes.pagos.v1 import pagos_pb2
from aeroalpes.reservas.v1 import reserva_pb2, reservas_pb2
from google.protobuf import json_format

from services.sagas.definition import Call, Datos, SagaDefinition, Step, method

_CLIENTES = clientes_pb2.DESCRIPTOR.services_by_name["ClientesService"]
_RESERVAS = reservas_pb2.DESCRIPTOR.services_by_name["ReservasService"]
_PAGOS = pagos_pb2.DESCRIPTOR.services_by_name["PagosService"]
_GDS = gds_pb2.DESCRIPTOR.services_by_name["GdsService"]


def _itinerarios(d: Datos) -> list[reserva_pb2.Itinerario]:
    return [json_format.ParseDict(i, reserva_pb2.Itinerario()) for i in d["itinerarios"]]


def _pasajeros(d: Datos) -> list[reserva_pb2.Pasajero]:
    return [json_format.ParseDict(p, reserva_pb2.Pasajero()) for p in d["pasajeros"]]


def _monto(r: Any) -> Datos:
    reserva = r.reserva
    total = reserva.monto.unidades_menores + reserva.monto_vat.unidades_menores
    return {"monto_total": total, "moneda": reserva.monto.moneda}


def _cancelar(motivo: str) -> Call:
    return Call(
        "reservas",
        method(_RESERVAS, "CancelarReserva"),
        reservas_pb2.CancelarReservaResponse,
        lambda d, k: reservas_pb2.CancelarReservaRequest(
            # Deterministic body: a retried or resumed compensation must match its idempotency key.
            id_reserva=d["id_reserva"],
            motivo=f"{motivo} (saga {d['id_saga']})",
            idempotency_key=k,
        ),
    )


def _on_booking(peer: str, module: Any, rpc: str) -> Call:
    """A call whose request names only the booking (and the step's idempotency key); its types
    follow the contract's naming (``<Rpc>Request``, ``<Rpc>Response``)."""
    (service,) = module.DESCRIPTOR.services_by_name.values()
    request = getattr(module, f"{rpc}Request")
    return Call(
        peer,
        method(service, rpc),
        getattr(module, f"{rpc}Response"),
        lambda d, k: request(id_reserva=d["id_reserva"], idempotency_key=k),
    )


VALIDAR_CLIENTE = Call(
    "clientes",
    method(_CLIENTES, "ValidarUsuario"),
    clientes_pb2.ValidarUsuarioResponse,
    lambda d, k: clientes_pb2.ValidarUsuarioRequest(id_usuario=d["id_cliente"]),
)

RESERVA = SagaDefinition(
    tipo="reserva",
    version=2,
    steps=(
        Step(
            "crear_reserva",
            Call(
                "reservas",
                method(_RESERVAS, "CrearReserva"),
                reservas_pb2.CrearReservaResponse,
                lambda d, k: reservas_pb2.CrearReservaRequest(
                    id_reserva=d["id_reserva"],
                    id_cliente=d["id_cliente"],
                    itinerarios=_itinerarios(d),
                    pasajeros=_pasajeros(d),
                    idempotency_key=k,
                ),
            ),
            compensation=_cancelar("saga compensada"),
            record=_monto,
        ),
        Step(
            "pagar_reserva",
            Call(
                "pagos",
                method(_PAGOS, "PagarReserva"),
                pagos_pb2.PagarReservaResponse,
                lambda d, k: pagos_pb2.PagarReservaRequest(
                    id_reserva=d["id_reserva"],
                    id_cliente=d["id_cliente"],
                    monto=dinero_pb2.Dinero(unidades_menores=d["monto_total"], moneda=d["moneda"]),
                    medio_pago=d["medio_pago"],
                    idempotency_key=k,
                ),
            ),
            compensation=_on_booking("pagos", pagos_pb2, "RevertirPago"),
            record=lambda r: {"id_pago": r.pago.id},  # type: ignore[attr-defined]
        ),
        Step(
            "confirmar_gds",
            Call(
                "gds",
                method(_GDS, "ConfirmarReserva"),
                gds_pb2.ConfirmarReservaResponse,
                lambda d, k: gds_pb2.ConfirmarReservaRequest(
                    id_reserva=d["id_reserva"], itinerarios=_itinerarios(d), idempotency_key=k
                ),
            ),
            compensation=_on_booking("gds", gds_pb2, "RevertirConfirmacion"),
            record=lambda r: {"codigo_localizador": r.confirmacion.codigo_localizador},  # type: ignore[attr-defined]
        ),
        Step(
            "aprobar_reserva",
            _on_booking("reservas", reservas_pb2, "AprobarReserva"),
            compensation=_cancelar("aprobación incierta"),
        ),
    ),
)

RESERVA_V1 = replace(
    RESERVA,
    version=1,
    steps=(Step("validar_cliente", VALIDAR_CLIENTE, compensation=None), *RESERVA.steps),
)
