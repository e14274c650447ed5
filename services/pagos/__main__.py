"""``python -m services.pagos``: the pagos gRPC server."""

import os
from collections.abc import Sequence
from pathlib import Path

from aeroalpes.pagos.v1 import pagos_pb2, pagos_pb2_grpc
from sqlalchemy.engine import Engine

from services.kit import bootstrap
from services.kit.config import ServiceConfig, env_int
from services.kit.db import UnitOfWork, session_factory
from services.kit.server import Registration
from services.pagos.handlers import Handlers
from services.pagos.servicer import PagosServicer

DEFAULT_PORT = 50063
DEFAULT_LIMITE = 50_000_000_00  # COP 50 million, in centavos
SERVICE = pagos_pb2.DESCRIPTOR.services_by_name["PagosService"].full_name


def build(config: ServiceConfig, engine: Engine) -> Sequence[Registration]:
    sessions = session_factory(engine)
    handlers = Handlers(limite=env_int(os.environ, "AEROALPES_PAGOS_LIMITE", DEFAULT_LIMITE))
    servicer = PagosServicer(lambda: UnitOfWork(sessions), handlers)
    return [Registration(pagos_pb2_grpc.add_PagosServiceServicer_to_server, servicer, SERVICE)]


if __name__ == "__main__":
    bootstrap.run("pagos", DEFAULT_PORT, Path(__file__).parent / "migrations", build)
