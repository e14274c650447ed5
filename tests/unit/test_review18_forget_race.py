"""Review #18 (rev18): two replicas of a service start together (the runner starts replicas 2..N
in one wave, so with N >= 3) and each prunes the service's old trace files at start
(``tracing.forget_old_files``). Between one's ``glob`` and its ``stat`` of a file, the other may
already have removed that file: the ``stat`` raises FileNotFoundError out of ``tracing.setup``,
which only turns a ConfigError into a clean exit, and the replica dies on start with a traceback.
``unlink(missing_ok=True)`` shows the race was thought of for the removal, not for the sort.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.kit.tracing import forget_old_files


def test_a_file_a_sibling_removed_meanwhile_does_not_stop_the_pruning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(12):
        old = tmp_path / f"sagas-{n}.jsonl"
        old.write_text("{}\n")
        os.utime(old, (n, n))
    gone = tmp_path / "sagas-3.jsonl"
    real_glob = Path.glob

    def glob_then_sibling_prunes(self: Path, pattern: str) -> list[Path]:
        found = list(real_glob(self, pattern))
        gone.unlink()  # the other replica, pruning at the same moment, got there first
        return found

    monkeypatch.setattr(Path, "glob", glob_then_sibling_prunes)
    forget_old_files(tmp_path, "sagas", keep=8)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"sagas-{n}.jsonl" for n in range(4, 12)
    )
