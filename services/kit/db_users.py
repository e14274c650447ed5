"""``make db-users``: runs deploy/mysql/users.sql (one user per context, the relay's user) on the
server AEROALPES_DB_URL names, connected as the administrator that URL names."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from services.kit.preflight import PreflightError, connect

USERS_SQL = Path(__file__).resolve().parents[2] / "deploy" / "mysql" / "users.sql"


def statements(sql: str) -> list[str]:
    """The file's statements (one per line-ending ``;``), comments dropped."""
    text = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in text.split(";\n") if s.strip().rstrip(";")]


def main() -> int:
    db_url = os.environ.get("AEROALPES_DB_URL")
    if not db_url:
        print("db-users: set AEROALPES_DB_URL to an administrator's server URL", file=sys.stderr)
        return 2
    try:
        with connect(db_url) as conn, conn.cursor() as cur:
            for statement in statements(USERS_SQL.read_text()):
                cur.execute(statement.rstrip(";"))
            conn.commit()
    except PreflightError as error:
        print(f"db-users: {error}", file=sys.stderr)
        return 1
    print(f"db-users: users of {USERS_SQL.name} created or updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
