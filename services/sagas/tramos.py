"""A saga's log as attempts (tramos): each step's action or compensation attempt, from the log
line that began it to the one that ended it. The console draws them as a waterfall, with or
without a tracing backend."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Tramo:
    indice: int
    paso: str
    compensacion: bool
    inicio: datetime
    fin: datetime | None = None  # None: in flight
    resultado: str = ""


# Log line -> (begins an attempt of this kind?, ends it with this result); see domain.py.
BEGINS = {"PASO_INICIADO": False, "COMPENSACION_INICIADA": True}
ENDS = {
    "PASO_REINTENTO": (False, "reintento"),
    "PASO_EXITOSO": (False, "exitoso"),
    "PASO_FALLIDO": (False, "fallido"),
    "COMPENSACION_REINTENTO": (True, "reintento"),
    "COMPENSACION_EXITOSA": (True, "exitoso"),
    "SAGA_FALLIDA": (True, "aparcada"),
    "SAGA_APLAZADA": (True, "aparcada"),
}


def tramos(log: Iterable[tuple[str, int, datetime]], nombres: list[str]) -> list[Tramo]:
    """``log``: (tipo, paso, fecha) in the order written; ``nombres``: the saga's step names."""
    done: list[Tramo] = []
    open_: dict[tuple[int, bool], Tramo] = {}
    for tipo, paso, fecha in log:
        if not 0 <= paso < len(nombres):
            continue  # a line about the saga itself
        if tipo in BEGINS:
            kind = BEGINS[tipo]
            if (paso, kind) in open_:  # begun again without an end (a crash): ended unknown
                done.append(open_.pop((paso, kind)))
            open_[(paso, kind)] = Tramo(paso, nombres[paso], kind, fecha)
        elif tipo in ENDS:
            kind, resultado = ENDS[tipo]
            began = open_.pop((paso, kind), None)
            if began is not None:  # e.g. a read-only step "compensated" without a call
                done.append(Tramo(paso, began.paso, kind, began.inicio, fecha, resultado))
    return sorted([*done, *open_.values()], key=lambda t: t.inicio)
