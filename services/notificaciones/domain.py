"""What each integration event tells the customer (pure domain)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

TEXTOS = {
    "ReservaCreada": (
        "Recibimos tu reserva",
        "Tu reserva {id_reserva} fue creada y está pendiente de pago.",
    ),
    "ReservaAprobada": (
        "Tu reserva está aprobada",
        "La reserva {id_reserva} está pagada y confirmada.",
    ),
    "ReservaCancelada": (
        "Tu reserva fue cancelada",
        "La reserva {id_reserva} fue cancelada: {motivo}",
    ),
    "SagaIniciada": (
        "Estamos procesando tu reserva",
        "Empezamos a procesar tu solicitud {id_saga}.",
    ),
    "SagaCompletada": (
        "Reserva confirmada",
        "Tu reserva {id_reserva} quedó confirmada con el localizador {codigo_localizador}.",
    ),
    "SagaCompensada": (
        "No pudimos completar tu reserva",
        "Deshicimos la solicitud {id_saga}: {motivo}. No se te cobró.",
    ),
    "SagaFallida": (
        "Tu reserva requiere atención",
        "Un operador revisará la solicitud {id_saga}: {motivo}",
    ),
}


@dataclass(frozen=True)
class Evento:
    """An integration event as it arrives: CloudEvents id and type, and its JSON payload."""

    id: str
    tipo: str
    datos: dict[str, Any]

    @property
    def id_cliente(self) -> str:
        return str(self.datos.get("idCliente", ""))

    @property
    def id_reserva(self) -> str:
        return str(self.datos.get("idReserva", ""))


@dataclass(frozen=True)
class Notificacion:
    id: str
    id_evento: str
    tipo_evento: str
    id_cliente: str
    id_reserva: str
    email: str
    asunto: str
    cuerpo: str
    fecha_creacion: datetime


def redactar(evento: Evento) -> tuple[str, str]:
    """(subject, body) of the e-mail for ``evento``."""
    asunto, plantilla = TEXTOS.get(evento.tipo, ("Novedades de tu reserva", "Evento {tipo}."))
    campos = {
        "id_reserva": evento.id_reserva,
        "id_saga": evento.datos.get("idSaga", ""),
        "motivo": evento.datos.get("motivo", ""),
        "codigo_localizador": evento.datos.get("codigoLocalizador", ""),
        "tipo": evento.tipo,
    }
    return asunto, plantilla.format(**campos)
