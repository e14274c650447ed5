"""The private MariaDB fixture: a real server with the binlog on, as the CDC relay needs it."""

import uuid

import pytest

from tests.support.mariadb import MariaDB

pytestmark = pytest.mark.mariadb


def test_table_round_trip_advances_the_binlog(mariadb: MariaDB) -> None:
    database = f"t_{uuid.uuid4().hex[:12]}"
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {database}")
        cur.execute(f"CREATE TABLE {database}.vuelos (id INT PRIMARY KEY, destino CHAR(3))")
        before = mariadb.binlog_position()
        cur.execute(f"INSERT INTO {database}.vuelos VALUES (1, 'JFK')")
        cur.execute(f"SELECT destino FROM {database}.vuelos WHERE id = 1")
        assert cur.fetchone() == ("JFK",)
    after = mariadb.binlog_position()
    assert after > before


def test_binlog_is_row_based_with_full_metadata(mariadb: MariaDB) -> None:
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@server_id"
        )
        assert cur.fetchone() == ("ROW", "FULL", "FULL", mariadb.server_id)
