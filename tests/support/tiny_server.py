"""A tiny gRPC server built with the kit (health and reflection only), for fixture tests."""

from services.kit.config import ServiceConfig
from services.kit.logs import configure_logging
from services.kit.server import create_server, serve


def main() -> None:
    config = ServiceConfig.from_env("tiny", default_port=0)
    configure_logging("tiny", config.log_level)
    server, port = create_server([], port=config.port, host=config.host)
    serve(server, "tiny", port, config.grace_seconds)


if __name__ == "__main__":
    main()
