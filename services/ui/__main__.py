"""``python -m services.ui``: EventosService (gRPC) and the web app's files (HTTP)."""

import logging
import os
import sys
import threading
from pathlib import Path

from aeroalpes.ui.v1 import eventos_pb2, eventos_pb2_grpc

from services.kit import metrics, tracing
from services.kit.config import ConfigError, ServiceConfig, env_int, env_port, env_str
from services.kit.logs import configure_logging
from services.kit.owners import reserva_owner
from services.kit.pulsar import pulsar_url
from services.kit.server import Registration, create_server, serve
from services.kit.slots import Slots
from services.ui.feed import Feed
from services.ui.owners import Owners
from services.ui.relay import RelayWatch
from services.ui.servicer import EventosServicer
from services.ui.source import PulsarSource
from services.ui.web import serve_static

log = logging.getLogger("services.ui")
DEFAULT_PORT = 50067
REPO = Path(__file__).resolve().parents[2]
SERVICE = eventos_pb2.DESCRIPTOR.services_by_name["EventosService"].full_name


def main() -> int:
    try:
        config = ServiceConfig.from_env("ui", DEFAULT_PORT)
        web_port = env_port(os.environ, "AEROALPES_UI_WEB_PORT", 50167)
        web_root = Path(env_str(os.environ, "AEROALPES_UI_WEB_DIR", str(REPO / "web" / "dist")))
        heartbeat_s = env_int(os.environ, "AEROALPES_UI_LATIDO_MS", 15_000) / 1000
        # The console links a saga's trace id here ("{traza}" replaced), e.g. Jaeger's
        # http://127.0.0.1:16686/trace/{traza}; unset: the id is shown as text.
        jaeger = env_str(os.environ, "AEROALPES_UI_JAEGER_URL", "")
        if jaeger and not jaeger.startswith(("http://", "https://")):
            raise ConfigError(f"AEROALPES_UI_JAEGER_URL must be an http(s) URL, got {jaeger!r}")
        # Each stream holds a server thread: the pool has 32 more than the streams' total, so
        # health checks and short calls always find one free. A thread per stream is cheap
        # enough that the total can be high: it takes many accounts to fill it.
        streams = Slots(
            per_key=env_int(os.environ, "AEROALPES_UI_SUSCRIPCIONES_POR_CLIENTE", 4),
            total=env_int(os.environ, "AEROALPES_UI_SUSCRIPCIONES_MAX", 224),
            what="suscripciones",
        )
    except ConfigError as error:
        print(f"ui: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging("ui", config.log_level)
    try:
        tracing.setup("ui", config.var_dir, os.environ)
    except ConfigError as error:
        print(f"ui: configuration error: {error}", file=sys.stderr)
        return 2
    if not (web_root / "index.html").exists():
        print(f"ui: cannot start: no web build at {web_root} (run `make web`)", file=sys.stderr)
        return 1
    # gds events name only the booking: reservas (through the mesh) says whose it is.
    reservas = env_str(os.environ, "AEROALPES_RESERVAS_ADDR", "127.0.0.1:50062")
    feed = Feed(owners=Owners(reserva_owner(reservas, timeout_s=2.0)))  # on the consumer thread
    source = PulsarSource(pulsar_url(), feed)
    events = threading.Thread(target=source.run_forever, name="events", daemon=True)
    events.start()
    # The relay is not behind Envoy (it serves no client RPC): asked directly on its port.
    relay = RelayWatch(env_str(os.environ, "AEROALPES_CDC_ADDR", "127.0.0.1:50068"), feed)
    threading.Thread(target=relay.run_forever, name="relay-state", daemon=True).start()
    try:
        servicer = EventosServicer(feed, heartbeat_s, streams)
        registration = Registration(
            eventos_pb2_grpc.add_EventosServiceServicer_to_server, servicer, SERVICE
        )
        server, port = create_server(
            [registration], config.port, config.host, max_workers=streams.total + 32
        )
        web = serve_static(web_root, config.host, web_port, {"jaeger": jaeger})
        endpoint = metrics.serve(config.host, config.metrics_port)
    except OSError as error:
        print(f"ui: cannot start: {error}", file=sys.stderr)
        return 1
    log.info("web app on http://%s:%d (from %s)", config.host, web_port, web_root)
    serve(server, "ui", port, config.grace_seconds)
    tracing.shutdown()
    if endpoint is not None:
        endpoint.shutdown()
    source.stopping.set()
    relay.stopping.set()
    web.shutdown()
    events.join(timeout=5)  # lets the consumer remove its subscription from the broker
    return 0


if __name__ == "__main__":
    sys.exit(main())
