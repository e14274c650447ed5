"""Side by side: several saga benchmark reports (bench/results/sagas-*.json) as columns.

``python -m bench.sagas_table [--notes FILE] LABEL=REPORT.json ... > bench/results/sagas-latest.md``

Each column is one report (medians of its runs). Only figures of one run compare safely (the
ratios ours/peer and ours/floor, and CPU per saga); absolute sagas/s move with what else the
2-core machine runs, which each column's load average shows. ``--notes`` puts a file's text
(how to read, what changed between columns) above the tables; each report's own summary
(bench.sagas.markdown) follows them.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.sagas import markdown

Figure = Callable[[dict[str, Any]], str]


def _level(level: str, side: str, key: str, fmt: str) -> Figure:
    return lambda r: format(r[f"c{level}"][side][key], fmt) if f"c{level}" in r else "–"


def _ratio(level: str, ratio: str) -> Figure:
    return lambda r: format(r[f"c{level}"][ratio]["throughput"], ".2f") if f"c{level}" in r else "–"


def _alone(get: Callable[[dict[str, Any]], float], fmt: str) -> Figure:
    return lambda r: (
        format(get(r["ours_alone_c8"]), fmt) if "ours_alone_c8" in r else "not measured"
    )


def _idle(key: str) -> Figure:
    return lambda r: format(r["idle_memory_mb"][key], ".0f") if "idle_memory_mb" in r else "–"


def _load(r: dict[str, Any]) -> str:
    if "loadavg_start_end" not in r:
        return "–"
    start, end = r["loadavg_start_end"]
    return f"{' '.join(start)} → {' '.join(end)}"


def figures(levels: list[str]) -> list[tuple[str, Figure]]:
    rows: list[tuple[str, Figure]] = []
    for level in levels:
        rows += [
            (f"{level}: ours sagas/s", _level(level, "ours", "sagas_per_s", ".1f")),
            (f"{level}: floor sagas/s", _level(level, "floor", "sagas_per_s", ".1f")),
            (f"{level}: peer sagas/s", _level(level, "peer", "sagas_per_s", ".1f")),
            (f"{level}: ours p50 ms", _level(level, "ours", "p50_ms", ".0f")),
            (f"{level}: ours/peer throughput", _ratio(level, "ours_over_peer")),
            (f"{level}: ours/floor throughput", _ratio(level, "ours_over_floor")),
        ]
    by_process = "cpu_s_per_saga_by_process"
    rows += [
        (
            "CPU s/saga, all processes over all columns (upper bound)",
            lambda r: f"{r['cpu_s_per_saga_upper_bound']:.3f}",
        ),
        ("CPU s/saga, ours alone (c=8)", _alone(lambda a: a["cpu_s_per_saga"], ".3f")),
        ("  of which sagas (orchestrator)", _alone(lambda a: a[by_process]["sagas"], ".3f")),
        ("  of which reservas", _alone(lambda a: a[by_process]["reservas"], ".3f")),
        ("  of which envoy", _alone(lambda a: a[by_process]["envoy"], ".3f")),
        ("ours alone c=8 sagas/s", _alone(lambda a: a["sagas_per_s"], ".1f")),
        ("idle RSS sum MB (whole system)", _idle("rss_sum")),
        ("idle PSS sum MB (whole system)", _idle("pss_sum")),
        ("idle processes", _idle("processes")),
        ("load average start → end", _load),
    ]
    return rows


def side_by_side(columns: list[tuple[str, dict[str, Any]]]) -> str:
    backends = list(dict.fromkeys(b for _, report in columns for b in report["backends"]))
    lines: list[str] = []
    for backend in backends:
        present = [
            (label, rep["backends"][backend])
            for label, rep in columns
            if backend in rep["backends"]
        ]
        levels = sorted({k[1:] for _, r in present for k in r if k[1:].isdigit()}, key=int)
        lines += [
            f"## {backend}: side by side (medians of each report's runs)",
            "",
            "| figure | " + " | ".join(label for label, _ in present) + " |",
            "|---" * (len(present) + 1) + "|",
        ]
        for name, figure in figures(levels):
            lines.append(f"| {name} | " + " | ".join(figure(r) for _, r in present) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notes", type=Path, help="text to put above the tables")
    parser.add_argument("columns", nargs="+", metavar="LABEL=REPORT.json")
    args = parser.parse_args()
    columns = []
    for item in args.columns:
        label, _, path = item.partition("=")
        columns.append((label, json.loads(Path(path).read_text())))
    parts = ["# Saga benchmark: reports side by side (issue #15)", ""]
    if args.notes:
        parts += [args.notes.read_text().strip(), ""]
    parts.append(side_by_side(columns))
    for label, report in columns:
        parts += [
            "",
            f"## {label}: " + markdown(report).removeprefix("# ").replace("\n## ", "\n### "),
        ]
    print("\n".join(parts).rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
