"""Start-up checks of a MySQL/MariaDB server and the broker: the first missing piece is named in
one line, with its fix, before anything starts (``python -m services.kit.preflight`` runs them all).
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from services.kit.config import ConfigError, env_str

MODES = ("binlog", "sondeo")  # sondeo: the relay polls each outbox, row-level CDC off
MY_CNF = "under [mysqld] in my.cnf and restart the server, or set AEROALPES_CDC_MODO=sondeo"
WANTED = {  # binlog variable: (value the relay needs, the my.cnf line that gives it)
    "log_bin": ("ON", "`log_bin=binlog` and `server_id=1`"),
    "binlog_format": ("ROW", "`binlog_format=ROW`"),
    "binlog_row_image": ("FULL", "`binlog_row_image=FULL`"),
    "binlog_row_metadata": ("FULL", "`binlog_row_metadata=FULL`"),
}
# What reading the binlog takes; MariaDB 10.5+ shows REPLICATION CLIENT as BINLOG MONITOR.
REPLICATION = ("REPLICATION SLAVE", "REPLICATION REPLICA")
POSITION = ("REPLICATION CLIENT", "BINLOG MONITOR", "SUPER")
# Client error codes: the server cannot be reached, or it answered and refused the user.
UNREACHABLE = frozenset({2002, 2003, 2005, 2006, 2013})
REFUSED = frozenset({1045, 1698, 1862})  # wrong password, no such user, password expired
HOST_NOT_ALLOWED = 1130
HOST_NAME = re.compile(r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]+")


class PreflightError(Exception):
    """Start-up cannot go on; the message is the one line the user sees."""


def cdc_mode(env: Mapping[str, str] | None = None) -> str:
    mode = env_str(os.environ if env is None else env, "AEROALPES_CDC_MODO", "binlog")
    if mode not in MODES:
        raise ConfigError(f"AEROALPES_CDC_MODO must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def _url(db_url: str) -> Any:
    """SQLAlchemy's reading of a URL, imported here: the runner, whose default is SQLite, never
    loads SQLAlchemy (about 11 MB it would hold for its whole life)."""
    from sqlalchemy.engine import make_url as parse

    return parse(db_url)


def is_server(db_url: str | None) -> bool:
    return bool(db_url) and _url(db_url or "").get_backend_name() != "sqlite"


def connect_args(db_url: str) -> dict[str, Any]:
    """PyMySQL's arguments for the server, read from the URL exactly as the services' engines
    read it (``?unix_socket=``, ``?ssl_ca=``, ``?charset=`` …), without a database."""
    url = _url(db_url)
    _, params = url.get_dialect()().create_connect_args(url)
    params.pop("database", None)
    params.pop("db", None)
    return dict(params)


def connect(db_url: str) -> Any:
    url = _url(db_url)
    if url.host and not HOST_NAME.fullmatch(url.host):
        # e.g. an unencoded @ in the password: what follows it is read as the host, so echoing
        # the host would write part of the password into every log.
        raise PreflightError(
            "the host in AEROALPES_DB_URL is not a host name: percent-encode @ : / in the user"
            " or password (@ is %40)"
        )
    user = url.username or "root"
    params = {"connect_timeout": 5, **connect_args(db_url)}  # the URL's own timeout wins
    where = params.get("unix_socket") or f"{url.host or '127.0.0.1'}:{url.port or 3306}"
    import pymysql  # here, not at the top: a service on SQLite never loads it (idle memory)

    try:
        return pymysql.connect(**params)
    except pymysql.MySQLError as error:
        code, text = (error.args[0], error.args[-1]) if error.args else (0, str(error))
        if code in UNREACHABLE:
            fix = "start it or fix AEROALPES_DB_URL"
            raise PreflightError(f"database at {where} unreachable ({text}): {fix}") from None
        if code in REFUSED:
            fix = "fix the user or password in AEROALPES_DB_URL (`make db-users` creates them)"
            raise PreflightError(
                f"database at {where} refused user {user} ({text}): {fix}"
            ) from None
        if code == HOST_NOT_ALLOWED:
            fix = "create the user for this host or '%' (`make db-users` uses '%')"
            raise PreflightError(
                f"database at {where} refused {user} from here ({text}): {fix}"
            ) from None
        raise PreflightError(f"database at {where} refused the connection ({text})") from None
    except (OSError, TypeError, ValueError) as error:  # a TLS file missing, an unknown option
        raise PreflightError(
            f"cannot connect to the database at {where} ({type(error).__name__}: {error}):"
            " fix the options in AEROALPES_DB_URL"
        ) from None


def server_version(db_url: str) -> str:
    """What every service checks at its own start: the server answers, and which it is."""
    with connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        return str(cur.fetchone()[0])


def check_database(db_url: str, mode: str) -> str:
    """The server's version; in binlog mode also its binlog settings and our user's grants."""
    with connect(db_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        version = str(cur.fetchone()[0])
        if mode == "binlog":
            cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN %s", (tuple(WANTED),))
            check_binlog(version, {str(k): str(v) for k, v in cur.fetchall()})
        cur.execute("SHOW GRANTS")
        grants = [str(r[0]) for r in cur.fetchall()]
    check_grants(_url(db_url).username or "root", grants, mode)
    return version


def check_binlog(version: str, variables: Mapping[str, str]) -> None:
    for name, (wanted, line) in WANTED.items():
        value = variables.get(name)
        if value is None:
            raise PreflightError(
                f"{name} is unknown to server {version}: the relay needs MySQL 8.0.14+ or "
                f"MariaDB 10.5+ (or set AEROALPES_CDC_MODO=sondeo)"
            )
        if value.upper() != wanted:
            raise PreflightError(f"{name} is {value}: add {line} {MY_CNF}")


def check_grants(user: str, grants: list[str], mode: str = "binlog") -> None:
    """In binlog mode the user's global grants (SHOW GRANTS' lines on ``*.*``) must let it read
    the binlog; polling needs nothing global."""
    held = {
        privilege.strip()
        for grant in grants
        if grant.upper().startswith("GRANT ") and " ON *.* " in grant.upper()
        for privilege in grant.upper()[6:].split(" ON *.* ")[0].split(",")
    }
    if "ALL PRIVILEGES" in held:
        return
    needs = (REPLICATION, POSITION) if mode == "binlog" else ()
    for needed in needs:
        if not held & set(needed):
            raise PreflightError(
                f"user {user} lacks {needed[0]}: run `GRANT {needed[0]} ON *.* TO '{user}'@'%'`"
                " as an administrator (deploy/mysql/users.sql does, see `make db-users`)"
            )


def check_broker(url: str, timeout: float = 3.0) -> None:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6650
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        raise PreflightError(
            f"Pulsar broker at {host}:{port} unreachable ({error.strerror or error}): "
            "start it or fix AEROALPES_PULSAR_URL"
        ) from None


def check_all(env: Mapping[str, str]) -> str:
    """Every check for a server set-up; returns a one-line summary of what was found."""
    db_url, mode = env.get("AEROALPES_DB_URL") or None, cdc_mode(env)
    summary = "SQLite"
    if is_server(db_url):
        summary = f"server {check_database(db_url or '', mode)}, CDC {mode}"
    from services.kit.pulsar import pulsar_url  # the client library only where it is used

    check_broker(pulsar_url(env))
    return summary


def main() -> int:
    try:
        print(f"preflight: ok ({check_all(os.environ)})")
    except (PreflightError, ConfigError) as error:
        print(f"preflight: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
