"""Serves the built web app (web/dist) over HTTP/1.1; Envoy routes the edge's / here."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # Envoy already logs every request
        pass


def serve_static(root: Path, host: str, port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), functools.partial(_Handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    return server
