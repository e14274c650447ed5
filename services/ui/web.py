"""Serves the built web app (web/dist) over HTTP/1.1, and ``/config.json`` (the deployment's
settings for the app: the tracing UI's link template); Envoy routes the edge's / here."""

from __future__ import annotations

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Handler(SimpleHTTPRequestHandler):
    settings = b"{}"

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/config.json":
            return super().do_GET()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.settings)))
        self.end_headers()
        self.wfile.write(self.settings)
        return None

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # Envoy already logs every request
        pass


def serve_static(
    root: Path, host: str, port: int, settings: dict[str, str] | None = None
) -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"settings": json.dumps(settings or {}).encode()})
    server = ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    return server
