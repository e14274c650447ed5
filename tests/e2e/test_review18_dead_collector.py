"""Review #18 (rev18): with ``AEROALPES_OTLP_ENDPOINT`` naming a collector that is down, stopping
the mesh ends in SIGKILL.

On the way out every process calls ``tracing.shutdown()``, which flushes what its batch holds to
the endpoint; the OTLP exporter retries an unreachable one for up to its timeout (10 s) per
batch, the batch in flight and then the rest, and the runner's grace for a child is 10 s. A
process that was exporting when asked to stop (the UI bridge traces its relay polls all the time)
is still flushing when the grace runs out, and the runner kills it: a stop that should be clean
becomes a SIGKILL, for the relay's checkpoint included when it is the one exporting.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.components import free_port
from tests.support.edge import book, register
from tests.support.mesh import run_mesh


def test_a_dead_collector_does_not_make_the_runner_kill_anyone_on_stop(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with run_mesh(tmp_path, env={"AEROALPES_OTLP_ENDPOINT": dead}) as mesh:
        assert book(mesh, register(mesh))["estado"] == "ESTADO_SAGA_COMPLETADA"
    # run_mesh stopped the runner (Ctrl-C); it says so when a child outlived its grace.
    output = mesh.output.read_text()
    assert "runner: stopped" in output, output[-2000:]
    killed = [line for line in output.splitlines() if "did not stop" in line]
    # What the killed ones were doing last (a CI run once failed here and its logs were gone).
    last_words = {
        log.name: log.read_text(errors="replace")[-1500:]
        for line in killed
        for log in (mesh.var_dir / "logs").glob(f"{line.split(' did not stop')[0].split()[-1]}*")
    }
    assert not killed, (killed, last_words)
