"""``python -m services.cdc``: the outbox and change-data-capture relay; its gRPC port answers
grpc.health.v1 and RelayService.ObtenerEstado (state and lag, for the UI bridge and runner).

On a server it first checks what its mode needs (binlog settings and grants, see
services/kit/preflight.py) and exits with a one-line reason when something is missing."""

import logging
import os
import signal
import sys
import threading

from aeroalpes.cdc.v1 import relay_pb2_grpc
from grpc_health.v1 import health, health_pb2

from services.cdc.config import CdcConfig
from services.cdc.estado import SERVICE, RelayServicer
from services.cdc.relay import Relay
from services.kit import metrics, tracing
from services.kit.config import ConfigError
from services.kit.logs import configure_logging
from services.kit.preflight import PreflightError, check_broker, check_database
from services.kit.server import Registration, create_server

log = logging.getLogger("services.cdc")
HEALTH_EVERY_S = 1.0
SERVING, NOT_SERVING = (
    health_pb2.HealthCheckResponse.SERVING,
    health_pb2.HealthCheckResponse.NOT_SERVING,
)


def report_health(relay: Relay, servicer: health.HealthServicer) -> None:
    """SERVING only while the relay's last cycle worked and the broker answers: an idle relay
    reading a binlog would not notice a broker gone until its next event."""
    while not relay.stopping.wait(HEALTH_EVERY_S):
        try:
            check_broker(relay.config.pulsar_url, timeout=1.0)
            serving, why = relay.ok, relay.error
        except PreflightError as error:
            serving, why = False, str(error)
        relay.tracker.health(serving, why)
        servicer.set("", SERVING if serving else NOT_SERVING)


def main() -> int:
    try:
        config = CdcConfig.from_env()
    except ConfigError as error:
        print(f"cdc: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging("cdc", "INFO")
    if config.db_url:
        try:
            check_database(config.db_url, config.mode)
        except PreflightError as error:
            print(f"cdc: cannot start: {error}", file=sys.stderr)
            return 1
    try:
        tracing.setup("cdc", config.var_dir, os.environ)
    except ConfigError as error:
        print(f"cdc: configuration error: {error}", file=sys.stderr)
        return 2
    relay = Relay(config)
    servicer = health.HealthServicer(experimental_non_blocking=True)
    try:
        estado = Registration(
            relay_pb2_grpc.add_RelayServiceServicer_to_server, RelayServicer(relay.tracker), SERVICE
        )
        server, port = create_server([estado], config.port, config.host, health_servicer=servicer)
        endpoint = metrics.serve(config.host, config.metrics_port)
    except OSError as error:
        print(f"cdc: cannot start: {error}", file=sys.stderr)
        return 1
    servicer.set("", NOT_SERVING)  # until a first cycle worked
    backend = f"SQLite triggers under {config.var_dir}"
    if config.db_url:
        backend = "binlog" if config.mode == "binlog" else "outbox polling (row-level CDC off)"
    log.info("cdc relay on %s -> %s (health on port %d)", backend, config.pulsar_url, port)
    try:  # not fatal: the broker may start after us; health says NOT_SERVING until it answers
        check_broker(config.pulsar_url, timeout=2.0)
    except PreflightError as error:
        log.warning("%s; NOT_SERVING until it answers", error)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: relay.stopping.set())
    # A daemon: a binlog read can block until the next event, and leaving mid-batch is safe
    # (the checkpoint only moves after the broker acknowledged).
    worker = threading.Thread(target=relay.run_forever, name="relay", daemon=True)
    worker.start()
    threading.Thread(target=report_health, args=(relay, servicer), daemon=True).start()
    relay.stopping.wait()
    worker.join(timeout=2)
    server.stop(2).wait()
    tracing.shutdown()
    if endpoint is not None:
        endpoint.shutdown()
    log.info("cdc relay stopped after %d messages", relay.published)
    return 0


if __name__ == "__main__":
    sys.exit(main())
