"""Review of issue 21 (rev21): a service started alone checks its database server before anything
else (services/kit/bootstrap.py). The check must reach the server the way the service itself
does: a URL whose query names a unix socket (``?unix_socket=``) is a good set-up that SQLAlchemy
and PyMySQL honour, and the service must start on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.components import free_port
from tests.support.grpc_process import grpc_service
from tests.support.mariadb import MariaDB, start_mariadb


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MariaDB, Path]]:
    workdir = tmp_path_factory.mktemp("sock")
    for found in start_mariadb(workdir):
        yield found, workdir / "mysqld.sock"


def test_a_service_starts_on_a_server_reached_through_its_unix_socket(
    server: tuple[MariaDB, Path], tmp_path: Path
) -> None:
    _, socket = server
    # host and port name nothing that listens: only the socket reaches the server
    url = f"mysql+pymysql://root@127.0.0.1:{free_port()}/?unix_socket={socket}"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:  # the set-up is good: the service's own engine gets in
            assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()
    env = {"AEROALPES_DB_URL": url}
    with grpc_service("services.pagos", "AEROALPES_PAGOS_PORT", tmp_path, env=env) as pagos:
        assert "cannot start" not in pagos.log.read_text()
