"""The relay's position, saved atomically (write then rename) after the broker acknowledged.

No fsync: a process crash keeps the file (the page cache survives it); only a machine crash
could lose the latest save, and then the relay repeats a little, never loses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class Checkpoint:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return None

    def save(self, position: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(position))
        temporary.replace(self.path)
