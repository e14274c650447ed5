"""A small `make chaos`: bookings while processes are SIGKILLed; no invariant may break."""

import json
import subprocess
import sys

from tests.support.components import REPO


def test_small_chaos_run_violates_no_invariant() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.chaos", "--sagas", "40", "--orchestrator-kills", "2",
         "--participant-kills", "2", "--relay-kills", "1", "--broker-restarts", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    summary = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    assert result.returncode == 0, (summary["violations"], result.stderr[-2000:])
    assert summary["sagas"] == 40 and not summary["violations"]
    assert len(summary["kills"]) >= 4  # the harness really killed processes
    assert set(summary["states"]) <= {"ESTADO_SAGA_COMPLETADA", "ESTADO_SAGA_COMPENSADA"}
