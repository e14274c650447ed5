"""``python -m bench.grpc_transport [--runs 3] [--calls 4000] [--concurrency 8]``: what one unary
call costs in grpcio's synchronous API (a thread per call, as every service here) and in
``grpc.aio`` (one event loop), server and client apart, with an echo handler that does nothing.

Issue #15 asked for ``grpc.aio`` "or a measured reason not to": this is the measure. The server
runs in a process of its own (its CPU read from /proc); the client drives ``--concurrency``
callers (threads, or tasks on one loop). Results to bench/results/grpc-transport-<ts>.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent import futures
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from bench.sagas import RESULTS
from tests.support.components import free_port

METHOD = "/bench.Echo/Echo"
PAYLOAD = b"x" * 300  # about a saga step's request


def _echo(request: bytes, _context: Any) -> bytes:
    return request


async def _echo_async(request: bytes, _context: Any) -> bytes:
    return request


def serve(mode: str, port: int) -> None:
    """The server process: echoes until its standard input closes."""
    address = f"127.0.0.1:{port}"
    if mode == "sync":
        handler = grpc.unary_unary_rpc_method_handler(_echo)
        server = grpc.server(futures.ThreadPoolExecutor(32))
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("bench.Echo", {"Echo": handler}),)
        )
        server.add_insecure_port(address)
        server.start()
        print("ready", flush=True)
        sys.stdin.read()
        return

    async def main() -> None:
        handler = grpc.unary_unary_rpc_method_handler(_echo_async)
        server = grpc.aio.server()
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("bench.Echo", {"Echo": handler}),)
        )
        server.add_insecure_port(address)
        await server.start()
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(main())


def drive(mode: str, port: int, calls: int, concurrency: int) -> float:
    """Client CPU seconds for ``calls`` calls from ``concurrency`` callers."""
    address, each = f"127.0.0.1:{port}", calls // concurrency
    if mode == "sync":
        channel = grpc.insecure_channel(address)
        call = channel.unary_unary(METHOD)
        call(PAYLOAD)  # connected before measuring
        start = time.process_time()
        with futures.ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda _: [call(PAYLOAD) for _ in range(each)], range(concurrency)))
        channel.close()
        return time.process_time() - start

    async def main() -> float:
        async with grpc.aio.insecure_channel(address) as channel:
            call = channel.unary_unary(METHOD)
            await call(PAYLOAD)
            start = time.process_time()

            async def caller() -> None:
                for _ in range(each):
                    await call(PAYLOAD)

            await asyncio.gather(*(caller() for _ in range(concurrency)))
            return time.process_time() - start

    return asyncio.run(main())


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def one_run(mode: str, calls: int, concurrency: int) -> dict[str, float]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.grpc_transport", "--serve", mode, "--port", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        server_before, wall = _cpu_s(server.pid), time.perf_counter()
        client_cpu = drive(mode, port, calls, concurrency)
        wall, server_cpu = time.perf_counter() - wall, _cpu_s(server.pid) - server_before
    finally:
        server.kill()
        server.wait()
    return {
        "server_cpu_ms_per_call": server_cpu / calls * 1000,
        "client_cpu_ms_per_call": client_cpu / calls * 1000,
        "calls_per_s": calls / wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", choices=["sync", "aio"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return 0
    runs: dict[str, list[dict[str, float]]] = {"sync": [], "aio": []}
    for _ in range(args.runs):  # alternated, so both see the same neighbours
        for mode in runs:
            runs[mode].append(one_run(mode, args.calls, args.concurrency))
            print(mode, {k: round(v, 3) for k, v in runs[mode][-1].items()}, flush=True)
    medians = {
        mode: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for mode, results in runs.items()
    }
    report = {
        "when": datetime.now(UTC).isoformat(),
        "calls": args.calls,
        "concurrency": args.concurrency,
        "loadavg": os.getloadavg(),
        "medians": medians,
        "runs": runs,
    }
    out = RESULTS / f"grpc-transport-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(medians, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
