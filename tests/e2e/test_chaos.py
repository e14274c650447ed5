"""A small `make chaos`: bookings while processes are SIGKILLed, frozen past every budget, and
participants die after committing; no invariant may break."""

import json
import subprocess
import sys
from pathlib import Path

from tests.support.components import REPO


def test_small_chaos_run_violates_no_invariant(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"  # stdout also carries the Pulsar client's own log lines
    result = subprocess.run(
        [sys.executable, "-m", "bench.chaos", "--sagas", "40", "--orchestrator-kills", "2",
         "--participant-kills", "2", "--relay-kills", "1", "--broker-restarts", "1",
         "--outages", "1", "--outage-s", "10", "--commit-then-die", "0.03",
         "--workdir", str(tmp_path / "system"), "--summary", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert out.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(out.read_text())
    assert result.returncode == 0, (summary["violations"], result.stderr[-2000:])
    assert summary["sagas"] == 40 and not summary["violations"]
    assert len(summary["kills"]) >= 7  # the harness really killed and froze processes
    assert any(k.startswith("SIGSTOP") for k in summary["kills"])
    assert set(summary["states"]) <= {"ESTADO_SAGA_COMPLETADA", "ESTADO_SAGA_COMPENSADA"}
