"""Relay throughput (changes/s) and lag (commit -> on topic, p50/p99), SQLite and MariaDB.

``python -m bench.relay [--changes N] [--runs R] [--backends sqlite,mariadb] [--profile LABEL]``:
starts pulsar-lite, a private MariaDB and the relay as real processes, and per run

- live: writes N single-row transactions while the relay runs, and reads them back with the
  official client (``changes_per_s``, ``writes_per_s``; ``lag_p50_ms``/``lag_p99_ms``, commit
  returned -> the broker's publish time of its event, i.e. on the topic; ``seen_lag_*``, commit
  -> received by this process's reader, which shares its GIL with the writer);
- burst: stops the relay, commits N more single-row transactions, starts it again and times how
  fast it drains them (``burst_per_s``, between the broker's publish times of the first and the
  last: the relay's own rate, not bounded by the writer).

Medians over R runs; results to bench/results/relay-<timestamp>.json. ``--profile LABEL`` samples
the relay process with py-spy during every run instead and writes a top-N table to
bench/results/profile-relay-<LABEL>.txt (no results JSON: sampling slows what it measures).
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pulsar
import sqlalchemy as sa
from sqlalchemy.engine import Engine

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


class Profiler:
    """py-spy attached to each relay process started while it is on; raw stacks collected."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.files: list[Path] = []

    @contextmanager
    def attached(self, pid: int) -> Iterator[None]:
        out = self.workdir / f"py-spy-{pid}.txt"
        py_spy = Path(sys.executable).parent / "py-spy"
        command = [str(py_spy), "record", "--pid", str(pid), "--format", "raw", "--output",
                   str(out), "--nonblocking", "--threads", "--rate", "200"]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            yield
        finally:
            process.send_signal(signal.SIGINT)  # py-spy writes what it sampled, then exits
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if out.exists():
                self.files.append(out)

    def table(self, title: str, top: int = 25) -> str:
        self_time: Counter[str] = Counter()
        total: Counter[str] = Counter()
        samples = 0
        for path in self.files:
            for line in path.read_text().splitlines():
                stack_text, _, count = line.rpartition(" ")
                frames = [f for f in stack_text.split(";") if f and not f.startswith("thread (")]
                if not frames:
                    continue
                samples += int(count)
                self_time[frames[-1]] += int(count)
                for frame in set(frames):
                    total[frame] += int(count)
        lines = [title, f"{samples} samples at 200/s, busy threads only (py-spy --nonblocking)", ""]
        lines.append(f"top {top} frames by self samples (where the time is spent):")
        lines += [f"  {n:6d} {100 * n / max(samples, 1):5.1f} %  {f}" for f, n in
                  self_time.most_common(top)]  # fmt: skip
        ours = [(f, n) for f, n in total.most_common() if "services/" in f][:top]
        lines += ["", f"top {top} frames of services/ by inclusive samples (what they cost):"]
        lines += [f"  {n:6d} {100 * n / max(samples, 1):5.1f} %  {f}" for f, n in ours]
        return "\n".join(lines) + "\n"


def write(
    engine: Engine, numbers: range, committed: dict[int, float], wall: dict[int, float]
) -> None:
    """One transaction per row, as fast as one connection goes; when each commit returned."""
    for n in numbers:
        with engine.begin() as conn:
            conn.execute(marcas.insert().values(n=n))
        committed[n], wall[n] = time.monotonic(), time.time()


def one_run(
    workdir: Path,
    broker_url: str,
    server_url: str | None,
    changes: int,
    profiler: Profiler | None = None,
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
    wall: dict[int, float] = {}  # the same, on the clock the broker stamps publish times with
    arrived: dict[int, float] = {}
    reader = TopicReader(broker_url, [f"aeroalpesdb.{db}.marcas"])

    published: dict[int, int] = {}  # the broker's publish time of each change, ms

    def receive(wanted: range, limit_s: float = 300) -> None:
        """Each event stamped as it comes (not after a poll: a poll lasts as long as events
        keep coming, which would make every lag of a stream its end's)."""
        missing = {n for n in wanted if n not in arrived}
        deadline = time.monotonic() + limit_s
        while missing and time.monotonic() < deadline:
            try:
                message = reader.consumer.receive(timeout_millis=100)
            except pulsar.Timeout:
                continue
            now = time.monotonic()
            reader.consumer.acknowledge(message)
            n = json.loads(message.data())["after"]["n"]
            arrived.setdefault(n, now)
            published.setdefault(n, message.publish_timestamp())
            missing.discard(n)

    @contextmanager
    def relay() -> Iterator[None]:
        with grpc_service("services.cdc", "AEROALPES_CDC_PORT", workdir, env=env) as service:
            if profiler is None:
                yield
                return
            with profiler.attached(service.process.pid):
                yield

    live, burst = range(changes), range(changes, 2 * changes)
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        stack.callback(reader.close)
        with relay():
            if not server_url:  # the relay captures SQLite tables once its triggers are in
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    with engine.connect() as conn:
                        if conn.exec_driver_sql(
                            "SELECT count(*) FROM sqlite_master WHERE name='cdc_marcas_c'"
                        ).scalar():
                            break
                    time.sleep(0.05)
            started = time.monotonic()
            thread = threading.Thread(target=write, args=(engine, live, committed, wall))
            thread.start()
            receive(live)
            thread.join()
        # Burst: committed while the relay is down, drained when it is back.
        write(engine, burst, committed, wall)
        with relay():
            receive(burst)
    lags = [published[n] - wall[n] * 1000 for n in live if n in published]
    seen = [(arrived[n] - committed[n]) * 1000 for n in live if n in arrived]
    drained = sorted(published[n] / 1000 for n in burst if n in published)
    return {
        "changes_per_s": len(seen) / (max(arrived[n] for n in live if n in arrived) - started),
        "writes_per_s": changes / (max(committed[n] for n in live) - started),
        "lag_p50_ms": percentile(lags, 50),
        "lag_p99_ms": percentile(lags, 99),
        "seen_lag_p50_ms": percentile(seen, 50),
        "seen_lag_p99_ms": percentile(seen, 99),
        "burst_per_s": (len(drained) - 1) / max(drained[-1] - drained[0], 1e-9),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,mariadb")
    parser.add_argument("--profile", metavar="LABEL", help="sample the relay with py-spy instead")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    results: dict[str, dict[str, float]] = {}
    tables: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        base = Path(tmp)
        (base / "pulsar").mkdir()
        (base / "mariadb").mkdir()
        pulsar = PrivatePulsar(base / "pulsar")
        broker = pulsar.start()
        stack.callback(pulsar.stop)
        server_url = None
        if "mariadb" in backends:
            mariadb = PrivateMariaDB(base / "mariadb")
            server_url = mariadb.start().url
            stack.callback(mariadb.stop)
        for backend in backends:
            runs = []
            profiler = Profiler(base) if args.profile else None
            for run in range(args.runs):
                workdir = base / f"{backend}-{run}"
                workdir.mkdir()
                url = server_url if backend == "mariadb" else None
                runs.append(one_run(workdir, broker.url, url, args.changes, profiler))
                print(f"{backend} run {run + 1}/{args.runs}: {runs[-1]}", flush=True)
            results[backend] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            if profiler is not None:
                title = (
                    f"py-spy of the relay process ({backend}), {args.runs} run(s) of "
                    f"{args.changes} live + {args.changes} burst changes: {args.profile}"
                )
                tables.append(profiler.table(title))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    if args.profile:
        out = RESULTS / f"profile-relay-{args.profile}.txt"
        out.write_text(f"python -m bench.relay --profile {args.profile}, {stamp}\n\n"
                       + "\n".join(tables))  # fmt: skip
    else:
        out = RESULTS / f"relay-{stamp}.json"
        summary = {"changes": args.changes, "runs": args.runs, "median": results}
        out.write_text(json.dumps(summary, indent=2))
    print(f"\n{'backend':<8} {'changes/s':>10} {'lag p50 ms':>11} {'lag p99 ms':>11}", end="")
    print(f" {'burst/s':>8}")
    for backend, r in results.items():
        rate, p50, p99 = r["changes_per_s"], r["lag_p50_ms"], r["lag_p99_ms"]
        print(f"{backend:<8} {rate:>10.0f} {p50:>11.1f} {p99:>11.1f} {r['burst_per_s']:>8.0f}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
