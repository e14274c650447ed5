"""``python -m services.cdc``: the outbox and change-data-capture relay (health endpoint only)."""

import logging
import signal
import sys
import threading

from services.cdc.config import CdcConfig
from services.cdc.relay import Relay
from services.kit.config import ConfigError
from services.kit.logs import configure_logging
from services.kit.server import create_server

log = logging.getLogger("services.cdc")


def main() -> int:
    try:
        config = CdcConfig.from_env()
    except ConfigError as error:
        print(f"cdc: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging("cdc", "INFO")
    relay = Relay(config)
    try:
        server, port = create_server([], config.port, config.host)
    except OSError as error:
        print(f"cdc: cannot start: {error}", file=sys.stderr)
        return 1
    backend = (config.db_url and "binlog") or f"SQLite triggers under {config.var_dir}"
    log.info("cdc relay on %s -> %s (health on port %d)", backend, config.pulsar_url, port)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: relay.stopping.set())
    # A daemon: a binlog read can block until the next event, and leaving mid-batch is safe
    # (the checkpoint only moves after the broker acknowledged).
    worker = threading.Thread(target=relay.run_forever, name="relay", daemon=True)
    worker.start()
    relay.stopping.wait()
    worker.join(timeout=2)
    server.stop(2).wait()
    log.info("cdc relay stopped after %d messages", relay.published)
    return 0


if __name__ == "__main__":
    sys.exit(main())
