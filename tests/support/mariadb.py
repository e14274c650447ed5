"""A private MariaDB server in a temp dir, binlog on (ROW, full image and metadata) unless asked
for a stock one (``binlog=False``: the binary log off, as most installs ship)."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest

from tests.support.components import free_port, stop_process, tail, unavailable, wait_until

_server_ids = itertools.count(1000 + os.getpid() % 1000 * 10)


@dataclass(frozen=True)
class MariaDB:
    host: str
    port: int
    user: str
    server_id: int
    binlog_basename: str

    @property
    def url(self) -> str:
        """Server URL without a database, as AEROALPES_DB_URL takes it."""
        return f"mysql+pymysql://{self.user}@{self.host}:{self.port}/"

    def connect(self, database: str | None = None) -> pymysql.connections.Connection:  # type: ignore[type-arg]
        return pymysql.connect(
            host=self.host, port=self.port, user=self.user, database=database, autocommit=True
        )

    def binlog_position(self) -> tuple[str, int]:
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute("SHOW MASTER STATUS")
            row = cur.fetchone()
            assert row is not None, "binlog is off"
            return str(row[0]), int(row[1])


def _binary(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )


class PrivateMariaDB:
    """A server of our own in ``workdir``; stop() and start() again keep its data and port."""

    def __init__(self, workdir: Path, binlog: bool = True) -> None:
        self.binlog = binlog
        install_db, self.mariadbd = _binary("mariadb-install-db"), _binary("mariadbd")
        if not install_db or not self.mariadbd:
            unavailable("mariadb-server is not installed (make test installs it when root)")
        self.workdir, self.datadir = workdir, workdir / "data"
        self.port, server_id = free_port(), next(_server_ids)
        self.server = MariaDB("127.0.0.1", self.port, "root", server_id, "binlog")
        self.log = workdir / "mariadb.err"
        self.process: subprocess.Popen[bytes] | None = None
        subprocess.run(
            [install_db, "--no-defaults", "--user=root", f"--datadir={self.datadir}",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> MariaDB:
        w = self.workdir
        self.process = subprocess.Popen(
            [str(self.mariadbd), "--no-defaults", "--user=root", f"--datadir={self.datadir}",
             f"--socket={w / 'mysqld.sock'}", f"--pid-file={w / 'mysqld.pid'}",
             f"--port={self.port}", "--bind-address=127.0.0.1", "--skip-name-resolve",
             f"--log-error={self.log}", *self._binlog_options(),
             "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
             "--max-connections=500"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        process = self.process
        try:
            wait_until(lambda: process.poll() is None and self.server.connect().open, 30, "MariaDB")
        except TimeoutError:
            unavailable(f"MariaDB did not start on port {self.port}:\n{tail(self.log)}")
        return self.server

    def _binlog_options(self) -> list[str]:
        if not self.binlog:
            return ["--skip-log-bin"]
        return [
            f"--log-bin={self.datadir / 'binlog'}",
            f"--server-id={self.server.server_id}",
            "--binlog-format=ROW",
            "--binlog-row-image=FULL",
            "--binlog-row-metadata=FULL",
        ]

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, grace=20)


def start_mariadb(workdir: Path, binlog: bool = True) -> Iterator[MariaDB]:
    """Initialises and runs a server under ``workdir``; stops it when the generator closes."""
    private = PrivateMariaDB(workdir, binlog)
    try:
        yield private.start()
    finally:
        private.stop()


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """One private MariaDB for the whole session; tests use databases with random names."""
    yield from start_mariadb(tmp_path_factory.mktemp("mariadb"))


@pytest.fixture(scope="module")
def stock_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A private MariaDB as most installs ship it: the binary log off. Its own per module, so
    tests may use the contexts' real database names on it."""
    yield from start_mariadb(tmp_path_factory.mktemp("stock-mariadb"), binlog=False)
