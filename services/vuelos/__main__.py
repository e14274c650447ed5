"""``python -m services.vuelos``: the tutorial's vuelos.Vuelos API for one configured customer."""

import logging
import os
import sys

import grpc
import vuelos_pb2
import vuelos_pb2_grpc

from services.kit import metrics, tracing
from services.kit.config import ConfigError, ServiceConfig, env_str
from services.kit.logs import configure_logging
from services.kit.server import Registration, create_server, serve
from services.vuelos.facade import VuelosServicer

log = logging.getLogger("services.vuelos")
DEFAULT_PORT = 50069
SERVICE = vuelos_pb2.DESCRIPTOR.services_by_name["Vuelos"].full_name


def main() -> int:
    try:
        config = ServiceConfig.from_env("vuelos", DEFAULT_PORT)
        cliente = env_str(os.environ, "AEROALPES_VUELOS_CLIENTE")
        medio_pago = env_str(os.environ, "AEROALPES_VUELOS_MEDIO_PAGO", "tarjeta-visa")
        sagas = env_str(os.environ, "AEROALPES_SAGAS_ADDR", "127.0.0.1:50065")
    except ConfigError as error:
        print(f"vuelos: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging("vuelos", config.log_level)
    try:
        tracing.setup("vuelos", config.var_dir, os.environ)
    except ConfigError as error:
        print(f"vuelos: configuration error: {error}", file=sys.stderr)
        return 2
    channel = grpc.insecure_channel(sagas)
    servicer = VuelosServicer(channel, cliente, medio_pago)
    registration = Registration(vuelos_pb2_grpc.add_VuelosServicer_to_server, servicer, SERVICE)
    try:
        server, port = create_server([registration], config.port, config.host)
        endpoint = metrics.serve(config.host, config.metrics_port)
    except OSError as error:
        print(f"vuelos: cannot start: {error}", file=sys.stderr)
        return 1
    log.info("vuelos.Vuelos for customer %s via %s", cliente, sagas)
    serve(server, "vuelos", port, config.grace_seconds)
    tracing.shutdown()
    if endpoint is not None:
        endpoint.shutdown()
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
