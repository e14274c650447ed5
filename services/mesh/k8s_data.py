"""What the cluster's data side needs from AeroAlpes: MariaDB users and grants, the secrets.

The users, databases and grants are read from deploy/mysql/users.sql (the one list of least
privileges, which docker-compose and ``make db-users`` run) and written as the MariaDB
operator's objects, each user's password taken from the ``aeroalpes-db`` Secret the services
read theirs from."""

from __future__ import annotations

import json
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.clientes.security import Tokens
from services.mesh.k8s_catalog import DB_NAMESPACE, DB_SERVICE, NAMESPACE, REPO, WORKLOADS
from services.mesh.k8s_workloads import PART_OF

Obj = dict[str, Any]
USERS_SQL = REPO / "deploy" / "mysql" / "users.sql"
API = "k8s.mariadb.com/v1alpha1"
DATABASE = re.compile(r"CREATE DATABASE IF NOT EXISTS (\w+)")
USER = re.compile(r"CREATE USER IF NOT EXISTS '(\w+)'@'%'")
GRANT = re.compile(r"GRANT (.+) ON ([\w*]+)\.([\w*]+) TO '(\w+)'@'%'")
# Each service's pool grows with its threads (services/kit/db.py); MariaDB's default is 10.
MAX_USER_CONNECTIONS = 300


def _object(kind: str, name: str, spec: Obj) -> Obj:
    ref = {"name": DB_SERVICE, "namespace": DB_NAMESPACE}
    return {
        "apiVersion": API,
        "kind": kind,
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(PART_OF)},
        "spec": {"mariaDbRef": ref, **spec, "cleanupPolicy": "Skip"},  # data outlives objects
    }


def grants(sql: str) -> list[tuple[tuple[str, ...], str, str, str]]:
    """(privileges, database, table, user) of every GRANT in users.sql."""
    return [
        (tuple(p.strip() for p in privs.split(",")), db, table, user)
        for privs, db, table, user in GRANT.findall(sql)
    ]


def mariadb_objects(sql: str | None = None) -> list[Obj]:
    sql = USERS_SQL.read_text() if sql is None else sql
    found: list[Obj] = []
    for db in DATABASE.findall(sql):
        spec = {"name": db, "characterSet": "utf8mb4", "collate": "utf8mb4_general_ci"}
        found.append(_object("Database", db, spec))
    for user in USER.findall(sql):
        password = {"name": "aeroalpes-db", "key": user}
        spec = {
            "name": user,
            "host": "%",
            "passwordSecretKeyRef": password,
            "maxUserConnections": MAX_USER_CONNECTIONS,
        }
        found.append(_object("User", user.replace("_", "-"), spec))
    for privileges, db, table, user in grants(sql):
        where = "all" if db == "*" else db if table == "*" else f"{db}-{table}"
        name = f"{user}-{where}".replace("_", "-")
        spec = {
            "privileges": list(privileges),
            "database": db,
            "table": table,
            "username": user,
            "host": "%",
        }
        found.append(_object("Grant", name, spec))
    return found


def write_secrets(directory: Path) -> list[Path]:
    """A cluster's secrets, new: a random password per database user and a JWT signing key
    with its public JWKS. Never overwrites (rotating a key is a decision, not a side effect)."""
    db_env, pem, jwks = (directory / n for n in ("db.env", "jwt-es256.pem", "jwks.json"))
    taken = [p for p in (db_env, pem, jwks) if p.exists()]
    if taken:
        raise FileExistsError(f"{', '.join(map(str, taken))} already exist: not overwritten")
    directory.mkdir(parents=True, exist_ok=True)
    users = sorted(w.db_user for w in WORKLOADS if w.db_user)
    # Hex: safe inside a URL (the services' AEROALPES_DB_URL) without escaping.
    db_env.touch(mode=0o600)
    db_env.write_text("".join(f"{u}={secrets.token_hex(20)}\n" for u in users))
    key = ec.generate_private_key(ec.SECP256R1())
    pem.touch(mode=0o600)
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    jwks.write_text(json.dumps(Tokens.from_key(key, timedelta(hours=1)).jwks()) + "\n")
    return [db_env, pem, jwks]
