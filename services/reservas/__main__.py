"""``python -m services.reservas``: the reservas gRPC server."""

from collections.abc import Sequence
from pathlib import Path

from aeroalpes.reservas.v1 import reservas_pb2, reservas_pb2_grpc
from sqlalchemy.engine import Engine

from services.kit import bootstrap
from services.kit.config import ServiceConfig
from services.kit.db import UnitOfWork, session_factory
from services.kit.server import Registration
from services.reservas.handlers import Handlers
from services.reservas.servicer import ReservasServicer

DEFAULT_PORT = 50062
SERVICE = reservas_pb2.DESCRIPTOR.services_by_name["ReservasService"].full_name


def build(config: ServiceConfig, engine: Engine) -> Sequence[Registration]:
    sessions = session_factory(engine)
    servicer = ReservasServicer(lambda: UnitOfWork(sessions), Handlers())
    return [
        Registration(reservas_pb2_grpc.add_ReservasServiceServicer_to_server, servicer, SERVICE)
    ]


if __name__ == "__main__":
    bootstrap.run("reservas", DEFAULT_PORT, Path(__file__).parent / "migrations", build)
