"""`make run` on a stock MariaDB (binary log off, as most installs ship): it refuses with the one
setting to fix and leaves nothing running; with AEROALPES_CDC_MODO=sondeo it runs, says row-level
CDC is off, and a booking's notification is stored."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.components import REPO, wait_until
from tests.support.edge import book, grpcurl, ok, register
from tests.support.mariadb import MariaDB
from tests.support.mesh import alive, mesh_env, run_mesh

LISTAR_NOTIFICACIONES = "aeroalpes.notificaciones.v1.NotificacionesService/ListarNotificaciones"


def in_session(session: int) -> list[int]:
    """Processes still alive in ``session`` (the runner's own, so every child it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.getsid(int(entry.name)) == session:
                found.append(int(entry.name))
        except OSError:  # gone meanwhile
            continue
    return [pid for pid in found if alive(pid)]


def test_without_a_binlog_start_up_ends_with_the_setting_to_fix(
    tmp_path: Path, stock_mariadb: MariaDB
) -> None:
    env, _ports = mesh_env(tmp_path / "var")
    env["AEROALPES_DB_URL"] = stock_mariadb.url
    runner = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "python"), "-m", "services.mesh"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    _out, err = runner.communicate(timeout=120)
    assert runner.returncode == 1
    assert err.strip().splitlines() == [
        "runner: cannot start: log_bin is OFF: add `log_bin=binlog` and `server_id=1` under"
        " [mysqld] in my.cnf and restart the server, or set AEROALPES_CDC_MODO=sondeo"
    ]
    assert not in_session(runner.pid), "a process of the run is still there"
    assert not (tmp_path / "var" / "runner.json").exists(), "something was started"


def test_with_polling_a_booking_is_notified(tmp_path: Path, stock_mariadb: MariaDB) -> None:
    env = {"AEROALPES_DB_URL": stock_mariadb.url, "AEROALPES_CDC_MODO": "sondeo"}
    with run_mesh(tmp_path, env=env) as mesh:
        banner = mesh.output.read_text()
        assert "outbox polling (AEROALPES_CDC_MODO=sondeo): row-level CDC is OFF" in banner
        assert "; relay SERVING (sondeo), lag " in banner
        customer = register(mesh)
        assert book(mesh, customer)["estado"] == "ESTADO_SAGA_COMPLETADA"

        def notified() -> bool:
            listed = ok(grpcurl(mesh.edge, LISTAR_NOTIFICACIONES, body={}, token=customer.token))
            return bool(listed.get("notificaciones"))

        wait_until(notified, 60, "the booking's notification")
