"""The relay's position, saved atomically (write then rename) after the broker acknowledged, and
the per-database SQLite positions it is made of on that backend.

No fsync: a process crash keeps the file (the page cache survives it); only a machine crash
could lose the latest save, and then the relay repeats a little, never loses."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


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


class SqlitePositions:
    """The last change relayed per database, valid only for the database identity it was read
    from (saved as ``{db: {"id": identity, "seq": n}}``)."""

    def __init__(self, saved: dict[str, Any]) -> None:
        self._saved = {db: p for db, p in saved.items() if isinstance(p, dict)}

    def bind(self, db: str, identity: str) -> None:
        previous = self._saved.get(db)
        if previous is not None and previous.get("id") != identity:
            log.warning(
                "%s is another database than the checkpoint's: reading it from the start", db
            )
            previous = None
        self._saved[db] = {"id": identity, "seq": int(previous["seq"]) if previous else 0}

    def seq(self, db: str) -> int:
        return int(self._saved[db]["seq"])

    def advance(self, db: str, seq: int) -> None:
        self._saved[db]["seq"] = seq

    def saved(self) -> dict[str, Any]:
        return self._saved
