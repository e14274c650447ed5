"""`make run` as a user runs it: everything ready, the relay's state in the banner and in a line
when it changes, then Ctrl-C leaves no process behind."""

import os
import signal
import socket
import subprocess
from pathlib import Path

from tests.support.components import REPO, wait_until
from tests.support.mesh import alive, mesh_env, run_mesh


def test_make_run_starts_everything_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    with run_mesh(tmp_path, command=["make", "--no-print-directory", "run"]) as mesh:
        children = mesh.children()
        assert all(alive(pid) for pid in children.values())
        banner = mesh.output.read_text()
        assert mesh.edge in banner and "grpcurl -plaintext" in banner
        assert "events:                  SQLite triggers (outbox and row-level CDC); " in banner
        assert "; relay SERVING (sqlite), lag " in banner
        # A relay that stops answering is said at once, and so is its return.
        os.kill(children["cdc"], signal.SIGSTOP)
        try:
            said = lambda line: line in mesh.output.read_text()  # noqa: E731
            wait_until(lambda: said("events: relay does not answer"), 30, "the relay gone, said")
        finally:
            os.kill(children["cdc"], signal.SIGCONT)
        wait_until(lambda: said("events: relay SERVING (sqlite)"), 30, "the relay back, said")
    # make re-raises the Ctrl-C it forwarded once its child (the runner) has finished cleanly.
    assert mesh.process.returncode in (0, -signal.SIGINT)
    assert not [name for name, pid in children.items() if alive(pid)]
    assert "no process left behind" in mesh.output.read_text()


def test_a_taken_port_ends_start_up_with_a_one_line_reason(tmp_path: Path) -> None:
    env, ports = mesh_env(tmp_path / "var")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["EDGE"]))
        squatter.listen()
        result = subprocess.run(
            [str(REPO / ".venv" / "bin" / "python"), "-m", "services.mesh"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    reason = f"port {ports['EDGE']} (edge) is taken; free it or set its AEROALPES_*_PORT"
    assert result.stderr.strip() == f"runner: cannot start: {reason}"
    assert not (tmp_path / "var" / "runner.json").exists()


def test_help_explains_the_environment() -> None:
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "-m", "services.mesh", "--help"],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0 and "AEROALPES_EDGE_PORT" in result.stdout
