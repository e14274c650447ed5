"""A saga run and its steps: states and transitions, as the log records them (pure domain)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any


class EstadoSaga(StrEnum):
    EN_CURSO = "EN_CURSO"
    COMPENSANDO = "COMPENSANDO"
    COMPLETADA = "COMPLETADA"
    COMPENSADA = "COMPENSADA"
    FALLIDA = "FALLIDA"


# FALLIDA ends a client's wait (a person must know) but not the orchestrator's work: a parked
# saga is retried with a long backoff until it converges to COMPENSADA.
TERMINALES = frozenset({EstadoSaga.COMPLETADA, EstadoSaga.COMPENSADA, EstadoSaga.FALLIDA})
FINALES = frozenset({EstadoSaga.COMPLETADA, EstadoSaga.COMPENSADA})  # nothing changes after
ACTIVOS = (EstadoSaga.EN_CURSO, EstadoSaga.COMPENSANDO)


class EstadoPaso(StrEnum):
    PENDIENTE = "PENDIENTE"
    EN_CURSO = "EN_CURSO"
    EXITOSO = "EXITOSO"
    FALLIDO = "FALLIDO"
    COMPENSANDO = "COMPENSANDO"
    COMPENSADO = "COMPENSADO"


@dataclass(frozen=True)
class Paso:
    indice: int
    nombre: str
    estado: EstadoPaso = EstadoPaso.PENDIENTE
    intentos: int = 0  # calls made: actions and compensations
    intentos_compensacion: int = 0  # since the last (re)start of compensation; capped
    error: str = ""
    incierto: bool = False  # failed without knowing whether it took effect: compensate it too
    fecha_actualizacion: datetime | None = None


@dataclass(frozen=True)
class Accion:
    """What the engine must do next for a saga."""

    tipo: str  # "accion" | "compensacion" | "completar" | "compensada"
    indice: int = -1


@dataclass(frozen=True)
class Saga:
    id: str
    tipo: str
    estado: EstadoSaga
    pasos: tuple[Paso, ...]
    datos: dict[str, Any]  # the request and every step's results, to build the next calls
    id_cliente: str
    fecha_creacion: datetime
    fecha_actualizacion: datetime
    fecha_limite: datetime  # the saga deadline: past it, forward steps give up and compensate
    motivo: str = ""
    version: int = 0
    version_definicion: int = 1  # the definition it started with, and resumes with
    proximo_intento: datetime | None = None  # parked (FALLIDA): when compensation is tried again
    aparcamientos: int = 0  # times parked: the next wait grows with it
    traza: str | None = None  # the W3C traceparent of the request that started it: every
    # attempt, also after a crash, is a span of that trace
    eventos: tuple[tuple[str, int, str], ...] = field(
        default=(), compare=False
    )  # pending log lines

    @classmethod
    def nueva(
        cls,
        id: str,
        tipo: str,
        nombres: list[str],
        datos: dict[str, Any],
        id_cliente: str,
        ahora: datetime,
        limite: datetime,
        version_definicion: int = 1,
        traza: str | None = None,
    ) -> Saga:
        pasos = tuple(Paso(i, n) for i, n in enumerate(nombres))
        saga = cls(
            id, tipo, EstadoSaga.EN_CURSO, pasos, datos, id_cliente, ahora, ahora, limite,
            version_definicion=version_definicion, traza=traza,
        )  # fmt: skip
        return saga._evento("SAGA_INICIADA", -1, "")

    @property
    def terminal(self) -> bool:
        """Where a client's wait ends (FALLIDA included: a person must know)."""
        return self.estado in TERMINALES

    @property
    def final(self) -> bool:
        """Nothing will change any more (a parked FALLIDA saga still will)."""
        return self.estado in FINALES

    def siguiente(self) -> Accion | None:
        if self.estado is EstadoSaga.EN_CURSO:
            pendiente = next((p for p in self.pasos if p.estado is not EstadoPaso.EXITOSO), None)
            return Accion("completar") if pendiente is None else Accion("accion", pendiente.indice)
        if self.estado is EstadoSaga.COMPENSANDO:
            por_deshacer = [p for p in self.pasos if _por_deshacer(p)]
            return (
                Accion("compensacion", por_deshacer[-1].indice)
                if por_deshacer
                else Accion("compensada")
            )
        return None

    # --- transitions: each returns the next state with the log line to write with it

    def intento_accion(self, i: int, ahora: datetime) -> Saga:
        paso = self.pasos[i]
        nuevo = replace(
            paso, estado=EstadoPaso.EN_CURSO, intentos=paso.intentos + 1, fecha_actualizacion=ahora
        )
        return self._paso(nuevo, ahora)._evento("PASO_INICIADO", i, f"intento {nuevo.intentos}")

    def reintento(self, i: int, error: str, ahora: datetime) -> Saga:
        return self._paso(replace(self.pasos[i], error=error), ahora)._evento(
            "PASO_REINTENTO", i, error
        )

    def paso_exitoso(self, i: int, resultados: dict[str, Any], ahora: datetime) -> Saga:
        paso = replace(
            self.pasos[i], estado=EstadoPaso.EXITOSO, error="", fecha_actualizacion=ahora
        )
        saga = replace(self._paso(paso, ahora), datos={**self.datos, **resultados})
        return saga._evento("PASO_EXITOSO", i, "")

    def paso_fallido(self, i: int, error: str, incierto: bool, ahora: datetime) -> Saga:
        paso = replace(
            self.pasos[i],
            estado=EstadoPaso.FALLIDO,
            error=error,
            incierto=incierto,
            fecha_actualizacion=ahora,
        )
        saga = replace(self._paso(paso, ahora), estado=EstadoSaga.COMPENSANDO, motivo=error)
        return saga._evento("PASO_FALLIDO", i, error)

    def intento_compensacion(self, i: int, ahora: datetime) -> Saga:
        paso = self.pasos[i]
        nuevo = replace(
            paso,
            estado=EstadoPaso.COMPENSANDO,
            intentos=paso.intentos + 1,
            intentos_compensacion=paso.intentos_compensacion + 1,
            fecha_actualizacion=ahora,
        )
        return self._paso(nuevo, ahora)._evento(
            "COMPENSACION_INICIADA", i, f"intento {nuevo.intentos_compensacion}"
        )

    def compensacion_reintento(self, i: int, error: str, ahora: datetime) -> Saga:
        return self._paso(replace(self.pasos[i], error=error), ahora)._evento(
            "COMPENSACION_REINTENTO", i, error
        )

    def compensado(self, i: int, ahora: datetime) -> Saga:
        paso = replace(self.pasos[i], estado=EstadoPaso.COMPENSADO, fecha_actualizacion=ahora)
        return self._paso(paso, ahora)._evento("COMPENSACION_EXITOSA", i, "")

    def completar(self, ahora: datetime) -> Saga:
        return replace(self, estado=EstadoSaga.COMPLETADA, fecha_actualizacion=ahora)._evento(
            "SAGA_COMPLETADA", -1, ""
        )

    def compensada(self, ahora: datetime) -> Saga:
        saga = replace(self, estado=EstadoSaga.COMPENSADA, fecha_actualizacion=ahora)
        return saga._evento("SAGA_COMPENSADA", -1, self.motivo)

    def fallida(self, i: int, error: str, ahora: datetime, proximo: datetime) -> Saga:
        """Parks the saga: its compensation of step ``i`` is tried again at ``proximo``. Only the
        first parking is news (SAGA_FALLIDA, the SagaFallida event); later ones are log lines."""
        motivo = f"compensación de {self.pasos[i].nombre} agotó sus reintentos: {error}"
        saga = replace(
            self, estado=EstadoSaga.FALLIDA, motivo=motivo, fecha_actualizacion=ahora,
            proximo_intento=proximo, aparcamientos=self.aparcamientos + 1,
        )  # fmt: skip
        tipo = "SAGA_FALLIDA" if self.aparcamientos == 0 else "SAGA_APLAZADA"
        return saga._paso(replace(self.pasos[i], error=error), ahora)._evento(tipo, i, motivo)

    def reanudar(self, ahora: datetime, quien: str) -> Saga:
        """A parked saga's time came (or an operator forced it): compensate again with a fresh
        retry budget."""
        pasos = tuple(replace(p, intentos_compensacion=0) for p in self.pasos)
        saga = replace(
            self, estado=EstadoSaga.COMPENSANDO, pasos=pasos, fecha_actualizacion=ahora,
            proximo_intento=None,
        )  # fmt: skip
        return saga._evento("SAGA_REANUDADA", -1, quien)

    def _paso(self, paso: Paso, ahora: datetime) -> Saga:
        pasos = tuple(paso if p.indice == paso.indice else p for p in self.pasos)
        return replace(self, pasos=pasos, fecha_actualizacion=ahora)

    def _evento(self, tipo: str, paso: int, detalle: str) -> Saga:
        return replace(self, eventos=(*self.eventos, (tipo, paso, detalle)))

    def sin_eventos(self) -> Saga:
        return replace(self, eventos=())


def _por_deshacer(paso: Paso) -> bool:
    if paso.estado in (EstadoPaso.EXITOSO, EstadoPaso.COMPENSANDO, EstadoPaso.EN_CURSO):
        return True
    return paso.estado is EstadoPaso.FALLIDO and paso.incierto
