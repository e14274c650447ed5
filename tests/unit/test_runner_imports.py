"""The runner holds its imports for as long as `make run` lasts: on SQLite (the default) it loads
neither SQLAlchemy, nor the Pulsar client, nor the tracing SDK, nor the metrics client, which only
the services use (issue #15, idle memory)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.components import REPO

# What the runner imports, and what it calls with the default settings before its children start.
RUNNER = """
import json, sys
from services.mesh.runner import Runner, RunnerConfig
from services.kit.preflight import is_server

runner = Runner(RunnerConfig.from_env({"AEROALPES_VAR_DIR": sys.argv[1]}))
assert not is_server(runner.config.db_url)
heavy = ("sqlalchemy", "pulsar", "alembic", "opentelemetry.sdk.trace", "prometheus_client")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""


def test_the_runner_on_sqlite_loads_no_sqlalchemy_pulsar_client_or_tracing_sdk(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_services_without_a_database_load_no_sqlalchemy() -> None:
    """vuelos (the legacy facade) and ui (the browser's bridge) keep no database: their shared
    kit (the error interceptor above all) must not pull SQLAlchemy in (~10 MB each, idle)."""
    code = (
        "import json, sys, services.vuelos.__main__, services.ui.__main__\n"
        "print(json.dumps([m for m in ('sqlalchemy', 'alembic') if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
