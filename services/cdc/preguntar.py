"""Asking a running relay for its state (``ObtenerEstado``) and telling it in one line: what the
runner and its banner need, apart from the relay's own module (services/cdc/estado.py), so they
load neither its metrics nor anything else of the relay."""

from __future__ import annotations

import grpc
from aeroalpes.cdc.v1 import relay_pb2, relay_pb2_grpc


def describe(estado: relay_pb2.EstadoRelay) -> str:
    """One line for a banner or a log: ``SERVING (binlog), lag 0.0 s`` or why not."""
    lag_s = estado.retraso.seconds + estado.retraso.nanos / 1e9
    if estado.sirviendo:
        return f"relay SERVING ({estado.modo}), lag {lag_s:.1f} s"
    why = f": {estado.motivo}" if estado.motivo else ""
    return f"relay NOT_SERVING ({estado.modo}) for {lag_s:.0f} s{why}"


def ask(address: str, timeout: float = 2.0) -> relay_pb2.EstadoRelay | None:
    """The relay's state at ``address``, or None when it does not answer."""
    try:
        with grpc.insecure_channel(address) as channel:
            stub = relay_pb2_grpc.RelayServiceStub(channel)  # type: ignore[no-untyped-call]
            response: relay_pb2.ObtenerEstadoResponse = stub.ObtenerEstado(
                relay_pb2.ObtenerEstadoRequest(), timeout=timeout
            )
    except grpc.RpcError:
        return None
    return response.estado
