"""``python -m services.gds``: the gds gRPC server."""

import os
from collections.abc import Sequence
from pathlib import Path

from aeroalpes.gds.v1 import gds_pb2, gds_pb2_grpc
from sqlalchemy.engine import Engine

from services.gds.handlers import Handlers
from services.gds.servicer import GdsServicer
from services.kit import bootstrap
from services.kit.config import ServiceConfig, env_int, env_str
from services.kit.db import UnitOfWork, session_factory
from services.kit.server import Registration

DEFAULT_PORT = 50064
SERVICE = gds_pb2.DESCRIPTOR.services_by_name["GdsService"].full_name


def build(config: ServiceConfig, engine: Engine) -> Sequence[Registration]:
    sessions = session_factory(engine)
    sin_cupo = env_str(os.environ, "AEROALPES_GDS_SIN_CUPO", "LET")  # Leticia: a real airport
    handlers = Handlers(
        sin_cupo={c.strip().upper() for c in sin_cupo.split(",") if c.strip()},
        latencia_ms=env_int(os.environ, "AEROALPES_GDS_LATENCIA_MS", 0),
    )
    servicer = GdsServicer(lambda: UnitOfWork(sessions), handlers)
    return [Registration(gds_pb2_grpc.add_GdsServiceServicer_to_server, servicer, SERVICE)]


if __name__ == "__main__":
    bootstrap.run("gds", DEFAULT_PORT, Path(__file__).parent / "migrations", build)
