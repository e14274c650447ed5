"""Asks the relay for its state every second and hands it to the feed; a relay that does not
answer is reported as not serving, for as long as it has not answered."""

from __future__ import annotations

import logging
import threading
import time

import grpc
from aeroalpes.cdc.v1 import relay_pb2, relay_pb2_grpc
from google.protobuf import duration_pb2

from services.ui.feed import Feed

log = logging.getLogger(__name__)


class RelayWatch:
    def __init__(self, address: str, feed: Feed, every_s: float = 1.0) -> None:
        self.address = address
        self.feed = feed
        self.every_s = every_s
        self.stopping = threading.Event()

    def run_forever(self) -> None:
        # Reconnect within a second: gRPC's default backoff (up to 2 min) would show the relay
        # down long after it came back.
        options = [
            ("grpc.initial_reconnect_backoff_ms", 500),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ]
        with grpc.insecure_channel(self.address, options=options) as channel:
            stub = relay_pb2_grpc.RelayServiceStub(channel)  # type: ignore[no-untyped-call]
            silent_since = time.monotonic()
            while True:
                try:
                    estado = stub.ObtenerEstado(
                        relay_pb2.ObtenerEstadoRequest(), timeout=self.every_s
                    ).estado
                    silent_since = time.monotonic()
                except grpc.RpcError as error:
                    estado = unreachable(self.address, error, time.monotonic() - silent_since)
                self.feed.relay_state(estado)
                if self.stopping.wait(self.every_s):
                    return


def unreachable(address: str, error: grpc.RpcError, for_s: float) -> relay_pb2.EstadoRelay:
    code = error.code().name if isinstance(error, grpc.Call) else "UNAVAILABLE"
    return relay_pb2.EstadoRelay(
        sirviendo=False,
        retraso=duration_pb2.Duration(seconds=int(for_s)),
        motivo=f"relay at {address} does not answer ({code})",
    )
