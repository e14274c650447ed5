"""`make mutate`: mutmut over the modules where a silent regression costs money or data, each
with a fast test selection run in-process (unit tests and SQLite-backed integration tests), one
worker. Works on a scratch copy of the committed tree (`git archive HEAD`), never the work tree,
and writes bench/results/mutation.md: the score per module and every surviving mutant with its
diff and, where bench/mutation_notes.toml has one, why it may survive.

MUTATE_GROUPS=sagas-domain,owners runs only those groups (the others keep their last results,
each with the commit it was measured on, in bench/results/mutation.json); MUTATE_DIR picks the
scratch directory; MUTATE_RENDER_ONLY=1 rewrites the report from the saved results (after a note
was added); MUTATE_RESUME=1 goes on with one group stopped by its time limit (MUTATE_TIMEOUT_S,
1500 s a group), in the scratch tree it left, checking only the mutants it had not reached."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "bench" / "results" / "mutation.md"
RESULTS = REPORT.with_suffix(".json")
NOTES = REPO / "bench" / "mutation_notes.toml"
MUTMUT = Path(sys.executable).parent / "mutmut"

ENGINE_TESTS = [
    "tests/unit/test_saga_log.py",
    "tests/unit/test_compensation_order.py",
    "tests/unit/test_classification.py",
    "tests/unit/test_step_runner.py",
    "tests/integration/test_compensation_order.py",
    "tests/integration/test_sagas_engine.py",
    "tests/integration/test_engine_recovery.py",
    "tests/integration/test_engine_scheduling.py",
    "tests/integration/test_saga_rows.py",
]
# group -> (modules mutated, the tests that may kill them). mutmut runs, for each mutant, only
# those of these tests that executed the mutated function.
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "sagas-domain": (["services/sagas/domain.py"], ENGINE_TESTS),
    "sagas-engine": (["services/sagas/engine.py", "services/sagas/steps.py"], ENGINE_TESTS),
    "sagas-store": (
        ["services/sagas/store.py", "services/sagas/rows.py", "services/sagas/leases.py"],
        ENGINE_TESTS,
    ),
    "idempotency": (
        ["services/kit/idempotency.py"],
        [
            "tests/unit/test_idempotency.py",
            "tests/integration/test_idempotency_store.py",
            "tests/integration/test_kit_database.py",
            "tests/integration/test_inputs.py::test_another_customers_identical_key_is_just_another_key",
            "-k",
            "not mariadb",  # the same code on SQLite: no server to start per mutant
        ],
    ),
    "relay-checkpoint": (["services/cdc/checkpoint.py"], ["tests/unit/test_checkpoint.py"]),
    "contract-rules": (
        ["services/kit/contract_rules.py"],
        [
            "tests/unit/test_contract_rules.py",
            "tests/unit/test_contract_checker.py",
            "tests/unit/test_review20_rule_paths.py",
            "tests/unit/test_review20_list_cost.py",
            "tests/unit/test_validation.py",
            "tests/integration/test_contract_enforced.py",
        ],
    ),
    "outbox-poll": (["services/cdc/outbox_poll.py"], ["tests/integration/test_outbox_poll.py"]),
    "owners": (
        ["services/kit/identity.py", "services/kit/owners.py", "services/ui/owners.py"],
        [
            "tests/unit/test_identity.py",
            "tests/unit/test_owner_checks.py",
            "tests/unit/test_feed.py",
            "tests/integration/test_reserva_owner.py",
        ],
    ),
    "error-mapping": (
        ["services/kit/errors.py", "services/kit/status.py", "services/kit/interceptor.py"],
        [
            "tests/unit/test_status_mapping.py",
            "tests/integration/test_error_mapping.py",
            "tests/integration/test_interceptor.py",
            "tests/integration/test_contract_enforced.py",
            "tests/unit/test_validation.py",
            "tests/unit/test_contract_rules.py",
            "tests/integration/test_sagas_engine.py",
        ],
    ),
}
KILLED = {"killed", "timeout", "caught by type check", "segfault"}


@dataclass
class Module:
    path: str
    statuses: dict[str, str] = field(default_factory=dict)  # mutant -> status
    diffs: dict[str, str] = field(default_factory=dict)  # survivor -> its diff

    def count(self, *names: str) -> int:
        return sum(s in names for s in self.statuses.values())

    @property
    def checked(self) -> int:
        return len(self.statuses) - self.count("not checked")

    @property
    def killed(self) -> int:
        return self.count(*KILLED)

    @property
    def survivors(self) -> list[str]:
        alive = {"survived", "no tests", "suspicious"}
        return sorted((m for m, s in self.statuses.items() if s in alive), key=_natural)

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.checked if self.checked else 0.0


def _natural(name: str) -> tuple[str, int]:
    head, _, number = name.rpartition("__mutmut_")
    return head, int(number) if number.isdigit() else 0


def scratch_tree(base: Path) -> Path:
    tree = base / "tree"
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    archive = base / "head.tar"
    subprocess.run(["git", "archive", "-o", str(archive), "HEAD"], cwd=REPO, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    archive.unlink()
    return tree


def configure(tree: Path, modules: list[str], tests: list[str]) -> None:
    """The committed [tool.mutmut] section plus this group's modules and tests."""
    pyproject = tree / "pyproject.toml"
    text = pyproject.read_text()
    base = tomllib.loads(text).get("tool", {}).get("mutmut", {})
    text = re.sub(r"\n\[tool\.mutmut\]\n.*?(?=\n\[|\Z)", "\n", text, flags=re.S)
    settings = {**base, "only_mutate": modules, "pytest_add_cli_args_test_selection": tests}
    lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    pyproject.write_text(text.rstrip() + "\n\n[tool.mutmut]\n" + "\n".join(lines) + "\n")


def run_group(
    base: Path, tree: Path, name: str, timeout_s: float, resume: bool = False
) -> tuple[list[Module], float]:
    modules, tests = GROUPS[name]
    if not resume:  # mutmut skips the mutants that already have a result
        shutil.rmtree(tree / "mutants", ignore_errors=True)
        configure(tree, modules, tests)
    started = time.monotonic()
    with (base / f"{name}.log").open("w") as log:
        try:
            subprocess.run(
                [str(MUTMUT), "run", "--max-children", "1"],
                cwd=tree, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            log.write(f"\nstopped after {timeout_s:.0f} s: the rest is 'not checked'\n")
    elapsed = time.monotonic() - started
    measured = [results(tree, path) for path in modules]
    for module in measured:
        module.diffs = {mutant: diff(tree, mutant) for mutant in module.survivors}
    return measured, elapsed


def results(tree: Path, path: str) -> Module:
    from mutmut.stats import status_by_exit_code

    meta = tree / "mutants" / f"{path}.meta"
    module = Module(path)
    if meta.exists():
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        module.statuses = {k: status_by_exit_code[v] for k, v in codes.items()}
    return module


def diff(tree: Path, mutant: str) -> str:
    shown = subprocess.run(
        [str(MUTMUT), "show", mutant], cwd=tree, capture_output=True, text=True, timeout=120
    ).stdout
    # The changed lines, a signature's too ("-def f(x=5):" has no space after the sign).
    return "\n".join(line for line in shown.splitlines() if re.match(r"^[-+](?![-+]{2} )", line))


Measured = dict[str, dict[str, Any]]  # group -> {commit, minutes, modules: [Module]}


def save(measured: Measured) -> None:
    plain = {g: {**r, "modules": [asdict(m) for m in r["modules"]]} for g, r in measured.items()}
    RESULTS.write_text(json.dumps(plain, indent=1, ensure_ascii=False, sort_keys=True) + "\n")


def load() -> Measured:
    if not RESULTS.exists():
        return {}
    saved = json.loads(RESULTS.read_text())
    return {g: {**r, "modules": [Module(**m) for m in r["modules"]]} for g, r in saved.items()}


def report(measured: Measured, notes: dict[str, str]) -> str:
    out = [
        "# Mutation testing (make mutate)",
        "",
        f"mutmut {version('mutmut')}, one worker; each group measured on the commit in its row.",
        "Score = killed (timeouts included) / checked. Every survivor is listed with its diff",
        "and, where one applies, why it may live (bench/mutation_notes.toml); a survivor",
        "without a note is a test still to write.",
        "",
        "Why mutmut rather than cosmic-ray: mutmut 3 switches mutants on inside one forked",
        "process and runs, per mutant, only the tests that executed the mutated function",
        "(about a second a mutant here); cosmic-ray rewrites the file on disk and runs the whole",
        "test command per mutant, several seconds each, and in a work tree shared by several",
        "agents an on-disk mutant would be seen by everyone's tests. The cost of mutmut's way:",
        "only in-process tests count, so code exercised only through real processes (the e2e",
        "and subprocess tiers) shows as surviving unless an in-process test covers it too.",
        "",
        "| group | commit, UTC | module | mutants | checked | killed | survived | score | time |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    groups = [(g, measured[g]) for g in GROUPS if g in measured]
    for name, run in groups:
        for m in run["modules"]:
            out.append(
                f"| {name} | `{run['commit']}` {run['at']} | `{m.path}` | {len(m.statuses)} "
                f"| {m.checked} "
                f"| {m.killed} | {len(m.survivors)} | {m.score:.1f} % | {run['minutes']:.1f} min |"
            )
    low = [m for _, run in groups for m in run["modules"] if m.score < 80]
    if low:
        out.append("")
        out.append(
            "Below 80 %: "
            + ", ".join(f"`{m.path}` ({m.score:.0f} %, {len(m.statuses) - m.checked} not checked)"
                        for m in low)
            + ". Their survivors are listed below, each with why it lives."
        )  # fmt: skip
    for _name, run in groups:
        for m in run["modules"]:
            if not m.survivors:
                continue
            out += ["", f"## `{m.path}`: {len(m.survivors)} surviving", ""]
            for mutant in m.survivors:
                short = mutant.split(".")[-1]
                note = next((n for pattern, n in notes.items() if re.search(pattern, short)), "")
                out.append(f"- `{short}` ({m.statuses[mutant]}){': ' + note if note else ''}")
                out += ["  ```diff", *(f"  {line}" for line in m.diffs[mutant].splitlines())]
                out.append("  ```")
    return "\n".join(out) + "\n"


def write_report(measured: Measured) -> None:
    notes = tomllib.loads(NOTES.read_text()).get("survivors", {}) if NOTES.exists() else {}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report(measured, notes))


def main() -> None:
    measured = load()
    if os.environ.get("MUTATE_RENDER_ONLY"):
        write_report(measured)
        return
    chosen = [g for g in os.environ.get("MUTATE_GROUPS", ",".join(GROUPS)).split(",") if g]
    unknown = set(chosen) - set(GROUPS)
    if unknown:
        raise SystemExit(f"unknown MUTATE_GROUPS {sorted(unknown)}; known: {', '.join(GROUPS)}")
    base = Path(os.environ.get("MUTATE_DIR") or Path(tempfile.gettempdir()) / "aeroalpes-mutate")
    timeout_s = float(os.environ.get("MUTATE_TIMEOUT_S", "1500"))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    resume = bool(os.environ.get("MUTATE_RESUME"))
    if resume and len(chosen) != 1:
        raise SystemExit("MUTATE_RESUME goes on with one group: name it in MUTATE_GROUPS")
    tree = base / "tree" if resume else scratch_tree(base)
    for name in chosen:
        modules, elapsed = run_group(base, tree, name, timeout_s, resume)
        for m in modules:
            print(f"{name}: {m.path}: {m.killed}/{m.checked} killed ({m.score:.1f} %)", flush=True)
        at = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
        measured_on, minutes = commit, elapsed / 60
        if resume and name in measured:  # the tree is the one the stopped run archived
            measured_on, minutes = measured[name]["commit"], minutes + measured[name]["minutes"]
        measured[name] = {"commit": measured_on, "at": at, "minutes": minutes, "modules": modules}
        save(measured)
        write_report(measured)
    print(f"report: {REPORT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
