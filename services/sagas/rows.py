"""How a saga is kept in its row (columns, steps as JSON) and announced on ``eventos-saga``."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from aeroalpes.sagas.v1 import eventos_pb2
from google.protobuf.message import Message

from services.kit.timestamps import to_timestamp
from services.sagas.booking import RESERVA, RESERVA_V1
from services.sagas.caller import en_palabras, peers_of
from services.sagas.domain import EstadoPaso, EstadoSaga, Paso, Saga

TOPIC = "eventos-saga"
MOTIVO_MAX = 500  # characters of a reason the row keeps


def _pasos_json(pasos: tuple[Paso, ...]) -> str:
    # Written field by field, in the dataclass's order: dataclasses.asdict deep-copies every
    # value, and this runs on every transition (7 % of the orchestrator's CPU in a profile).
    return json.dumps(
        [
            {
                "indice": p.indice,
                "nombre": p.nombre,
                "estado": p.estado.value,
                "intentos": p.intentos,
                "intentos_compensacion": p.intentos_compensacion,
                "error": p.error,
                "incierto": p.incierto,
                "fecha_actualizacion": (
                    p.fecha_actualizacion.isoformat() if p.fecha_actualizacion else None
                ),
            }
            for p in pasos
        ]
    )


def _pasos(text: str) -> tuple[Paso, ...]:
    def paso(d: dict[str, Any]) -> Paso:
        fecha = d.pop("fecha_actualizacion")
        return Paso(
            **{**d, "estado": EstadoPaso(d["estado"])},
            fecha_actualizacion=datetime.fromisoformat(fecha) if fecha else None,
        )

    return tuple(paso(d) for d in json.loads(text))


# A row an older release wrote (before 1972b1f) may hold a status's own text in a step's error
# or the motivo (a traceback, Envoy's "upstream connect error …"): it is worded as it is read
# (caller.en_palabras), so what the customer reads (ObtenerSaga, the saga's events) and what the
# next transition writes back (and CDC of this table carries) are words too.
_PEERS = peers_of(RESERVA, RESERVA_V1)


def _en_palabras(paso: Paso) -> Paso:
    return replace(paso, error=en_palabras(paso.error, _PEERS, paso.nombre)) if paso.error else paso


def saga_of(row: sa.Row[Any]) -> Saga:
    m = row._mapping
    return Saga(
        id=m["id"],
        tipo=m["tipo"],
        estado=EstadoSaga(m["estado"]),
        pasos=tuple(_en_palabras(p) for p in _pasos(m["pasos"])),
        datos=json.loads(m["datos"]),
        id_cliente=m["id_cliente"],
        fecha_creacion=m["fecha_creacion"],
        fecha_actualizacion=m["fecha_actualizacion"],
        fecha_limite=m["fecha_limite"],
        motivo=en_palabras(m["motivo"], _PEERS) if m["motivo"] else "",
        version=m["version"],
        version_definicion=m["version_definicion"],
        proximo_intento=m["proximo_intento"],
        aparcamientos=m["aparcamientos"],
        traza=m["traza"],
    )


# A saga's data changes only when a step records its result (the domain replaces the dict, never
# changes it in place), so most transitions write the same text again: kept per dict, by identity
# (the entry holds the dict, so its id is not reused meanwhile); emptied when it grows past 1,024.
_DATOS_JSON: dict[int, tuple[dict[str, Any], str]] = {}


def _datos_json(datos: dict[str, Any]) -> str:
    known = _DATOS_JSON.get(id(datos))
    if known is not None and known[0] is datos:
        return known[1]
    text = json.dumps(datos, sort_keys=True)
    if len(_DATOS_JSON) >= 1024:
        _DATOS_JSON.clear()
    _DATOS_JSON[id(datos)] = (datos, text)
    return text


def columns(saga: Saga) -> dict[str, Any]:
    """The columns a transition changes (the rest are written once, at creation)."""
    actual = next(
        (p.indice for p in saga.pasos if p.estado is not EstadoPaso.EXITOSO), len(saga.pasos)
    )
    return {
        "estado": saga.estado.value,
        "paso_actual": actual,
        "pasos": _pasos_json(saga.pasos),
        "datos": _datos_json(saga.datos),
        "id_reserva": saga.datos.get("id_reserva", ""),
        "id_pago": saga.datos.get("id_pago", ""),
        "codigo_localizador": saga.datos.get("codigo_localizador", ""),
        "motivo": saga.motivo[:MOTIVO_MAX],
        "fecha_actualizacion": saga.fecha_actualizacion,
        "proximo_intento": saga.proximo_intento,
        "aparcamientos": saga.aparcamientos,
    }


def integration_event(saga: Saga, tipo: str, ahora: datetime) -> Message | None:
    """The event published for a log line of type ``tipo``, if that line is news."""
    d, ts = saga.datos, to_timestamp(ahora)
    motivo = saga.motivo
    if tipo == "SAGA_INICIADA":
        return eventos_pb2.SagaIniciada(
            id_saga=saga.id, id_cliente=saga.id_cliente, fecha_inicio=ts
        )
    if tipo == "SAGA_COMPLETADA":
        return eventos_pb2.SagaCompletada(
            id_saga=saga.id, id_cliente=saga.id_cliente, id_reserva=d.get("id_reserva", ""),
            codigo_localizador=d.get("codigo_localizador", ""), fecha_fin=ts,
        )  # fmt: skip
    if tipo == "SAGA_COMPENSADA":
        return eventos_pb2.SagaCompensada(
            id_saga=saga.id, id_cliente=saga.id_cliente, id_reserva=d.get("id_reserva", ""),
            motivo=motivo, fecha_fin=ts,
        )  # fmt: skip
    if tipo == "SAGA_FALLIDA":
        return eventos_pb2.SagaFallida(
            id_saga=saga.id, id_cliente=saga.id_cliente, id_reserva=d.get("id_reserva", ""),
            motivo=motivo, fecha_fallo=ts,
        )  # fmt: skip
    return None
