"""Relay throughput (changes/s) and lag (commit -> on topic, p50/p99), SQLite and MariaDB.

``python -m bench.relay [--changes N] [--runs R]``: starts pulsar-lite, a private MariaDB and the
relay as real processes, writes N single-row transactions per run, and reads them back with the
official client. Medians over R runs; results to bench/results/relay-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from services.kit.db import big_id, create_engine, database_url, ensure_database
from tests.support.grpc_process import grpc_service
from tests.support.mariadb import PrivateMariaDB
from tests.support.pulsar import PrivatePulsar
from tests.support.topics import TopicReader

RESULTS = Path(__file__).parent / "results"
metadata = sa.MetaData()
marcas = sa.Table(
    "marcas", metadata, sa.Column("seq", big_id(), primary_key=True), sa.Column("n", sa.Integer)
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def one_run(
    workdir: Path, broker_url: str, server_url: str | None, changes: int
) -> dict[str, float]:
    db = f"bench_{uuid.uuid4().hex[:8]}"
    url = database_url(server_url, db, workdir)
    ensure_database(url)
    engine = create_engine(url)
    metadata.create_all(engine)
    env = {
        "AEROALPES_PULSAR_URL": broker_url,
        "AEROALPES_CDC_TABLAS": f"{db}.marcas",
        "AEROALPES_CDC_OUTBOX": db,
        "AEROALPES_CDC_POLL_MS": "10",
        "AEROALPES_CDC_SERVER_ID": str(9000 + uuid.uuid4().int % 9000),
    }
    if server_url:
        env["AEROALPES_DB_URL"] = server_url
    committed: dict[int, float] = {}
    arrived: dict[int, float] = {}
    reader = TopicReader(broker_url, [f"aeroalpesdb.{db}.marcas"])
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        stack.callback(reader.close)
        stack.enter_context(grpc_service("services.cdc", "AEROALPES_CDC_PORT", workdir, env=env))
        if not server_url:  # the relay captures SQLite tables once its triggers are in
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    if conn.exec_driver_sql(
                        "SELECT count(*) FROM sqlite_master WHERE name='cdc_marcas_c'"
                    ).scalar():
                        break
                time.sleep(0.05)

        def writer() -> None:
            for n in range(changes):
                with engine.begin() as conn:
                    conn.execute(marcas.insert().values(n=n))
                committed[n] = time.monotonic()

        started = time.monotonic()
        thread = threading.Thread(target=writer)
        thread.start()
        while len(arrived) < changes and time.monotonic() - started < 300:
            before = len(reader.received)
            reader.poll(wait_ms=100)
            now = time.monotonic()
            for message in reader.received[before:]:
                arrived.setdefault(message.json()["after"]["n"], now)
        thread.join()
    lags = [(arrived[n] - committed[n]) * 1000 for n in arrived if n in committed]
    elapsed = max(arrived.values()) - started
    writes_per_s = changes / (max(committed.values()) - started)
    return {
        "changes_per_s": len(arrived) / elapsed,
        "writes_per_s": writes_per_s,
        "lag_p50_ms": percentile(lags, 50),
        "lag_p99_ms": percentile(lags, 99),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        base = Path(tmp)
        (base / "pulsar").mkdir()
        (base / "mariadb").mkdir()
        pulsar = PrivatePulsar(base / "pulsar")
        broker = pulsar.start()
        stack.callback(pulsar.stop)
        mariadb = PrivateMariaDB(base / "mariadb")
        server = mariadb.start()
        stack.callback(mariadb.stop)
        for backend, server_url in (("sqlite", None), ("mariadb", server.url)):
            runs = []
            for run in range(args.runs):
                workdir = base / f"{backend}-{run}"
                workdir.mkdir()
                runs.append(one_run(workdir, broker.url, server_url, args.changes))
                print(f"{backend} run {run + 1}/{args.runs}: {runs[-1]}", flush=True)
            results[backend] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"relay-{stamp}.json"
    out.write_text(
        json.dumps({"changes": args.changes, "runs": args.runs, "median": results}, indent=2)
    )
    print(f"\n{'backend':<8} {'changes/s':>10} {'lag p50 ms':>11} {'lag p99 ms':>11}")
    for backend, r in results.items():
        rate, p50, p99 = r["changes_per_s"], r["lag_p50_ms"], r["lag_p99_ms"]
        print(f"{backend:<8} {rate:>10.0f} {p50:>11.1f} {p99:>11.1f}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
