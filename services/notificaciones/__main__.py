"""``python -m services.notificaciones``: consumes booking and saga events, serves the list."""

import os
import threading
from collections.abc import Sequence
from pathlib import Path

from aeroalpes.notificaciones.v1 import notificaciones_pb2, notificaciones_pb2_grpc
from sqlalchemy.engine import Engine

from services.kit import bootstrap
from services.kit.config import ServiceConfig, env_str
from services.kit.db import UnitOfWork, session_factory
from services.kit.pulsar import pulsar_url
from services.kit.server import Registration
from services.notificaciones.consumer import Consumer, EmailLookup
from services.notificaciones.handlers import Handlers
from services.notificaciones.servicer import NotificacionesServicer

DEFAULT_PORT = 50066
SERVICE = notificaciones_pb2.DESCRIPTOR.services_by_name["NotificacionesService"].full_name


def build(config: ServiceConfig, engine: Engine) -> Sequence[Registration]:
    sessions = session_factory(engine)
    clientes = EmailLookup(env_str(os.environ, "AEROALPES_CLIENTES_ADDR", "127.0.0.1:50061"))
    handlers = Handlers(lambda: UnitOfWork(sessions), clientes.email_de)
    consumer = Consumer(pulsar_url(), handlers)
    threading.Thread(target=consumer.run_forever, name="consumer", daemon=True).start()
    bootstrap.on_stop(consumer.stopping.set)
    servicer = NotificacionesServicer(handlers)
    return [
        Registration(
            notificaciones_pb2_grpc.add_NotificacionesServiceServicer_to_server, servicer, SERVICE
        )
    ]


if __name__ == "__main__":
    bootstrap.run("notificaciones", DEFAULT_PORT, Path(__file__).parent / "migrations", build)
