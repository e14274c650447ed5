"""What the relay tells about itself: grpc.health.v1 (SERVING or not) and
RelayService.ObtenerEstado (why not, and how far behind commits it is), both from one Tracker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from aeroalpes.cdc.v1 import relay_pb2, relay_pb2_grpc
from google.protobuf import duration_pb2, timestamp_pb2
from prometheus_client import Counter, Gauge

from services.cdc.envelope import Change

SERVICE = relay_pb2.DESCRIPTOR.services_by_name["RelayService"].full_name

LAG = Gauge("aeroalpes_cdc_lag_seconds", "How far behind commits the relay is (see ObtenerEstado).")
IN_FLIGHT = Gauge("aeroalpes_cdc_in_flight_changes", "Changes read and not yet acknowledged.")
UP = Gauge("aeroalpes_cdc_up", "1 while the relay reads its source and the broker answers.")
PUBLISHED = Counter("aeroalpes_cdc_published_messages_total", "Messages the broker acknowledged.")


class Tracker:
    """The relay's progress, written by its loop and health checker, read by ObtenerEstado."""

    def __init__(self, modo: str, clock_ms: Callable[[], int]) -> None:
        self.modo = modo
        self.clock_ms = clock_ms
        self._lock = threading.Lock()
        self.sirviendo = False
        self.motivo = "starting"
        self._read_ms = clock_ms()  # when its source last answered (or it started)
        self._oldest_in_flight_ms: int | None = None  # commit time of the oldest unacked change
        self._in_flight = 0
        self.publicados = 0
        LAG.set_function(lambda: self.retraso_ms() / 1000)
        IN_FLIGHT.set_function(lambda: self._in_flight)
        UP.set_function(lambda: 1 if self.sirviendo else 0)

    def sending(self, changes: Iterable[Change]) -> None:
        """Changes read and handed to the broker, not acknowledged yet."""
        changes = list(changes)
        times = [change.ts_ms for change in changes if change.ts_ms]
        with self._lock:
            self._oldest_in_flight_ms = min(times) if times else None
            self._in_flight = len(changes)

    def acknowledged(self, messages: int) -> None:
        with self._lock:
            self._oldest_in_flight_ms = None
            self._in_flight = 0
            self.publicados += messages
        PUBLISHED.inc(messages)

    def read(self) -> None:
        """Its source answered (a batch, an empty poll, a heartbeat)."""
        with self._lock:
            self._read_ms = self.clock_ms()

    def health(self, serving: bool, motivo: str = "") -> None:
        with self._lock:
            self.sirviendo, self.motivo = serving, "" if serving else motivo

    def retraso_ms(self) -> int:
        now = self.clock_ms()
        with self._lock:
            if self._oldest_in_flight_ms is not None:
                return max(0, now - self._oldest_in_flight_ms)
            return 0 if self.sirviendo else max(0, now - self._read_ms)

    def estado(self) -> relay_pb2.EstadoRelay:
        retraso_ms = self.retraso_ms()
        fecha = timestamp_pb2.Timestamp()
        fecha.FromMilliseconds(self.clock_ms())
        with self._lock:
            return relay_pb2.EstadoRelay(
                sirviendo=self.sirviendo,
                modo=self.modo,
                retraso=duration_pb2.Duration(
                    seconds=retraso_ms // 1000, nanos=retraso_ms % 1000 * 1_000_000
                ),
                motivo=self.motivo,
                publicados=self.publicados,
                fecha=fecha,
            )


class RelayServicer(relay_pb2_grpc.RelayServiceServicer):
    CONTRACT_RULES = True  # requests checked against the protos' buf.validate rules (kit)

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def ObtenerEstado(self, request: Any, context: Any) -> relay_pb2.ObtenerEstadoResponse:
        return relay_pb2.ObtenerEstadoResponse(estado=self.tracker.estado())


def now_ms() -> int:
    return int(time.time() * 1000)
