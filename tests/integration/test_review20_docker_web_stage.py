"""Review of #20: the Dockerfile's web stage no longer builds.

buf.gen.yaml now reads its input from ``generated/aeroalpes.protoset`` (the image `make protos`
writes, with buf/validate in it) instead of protos/, but the Dockerfile's first stage still copies
only package.json, package-lock.json, buf.yaml, buf.gen.yaml, protos/ and web/ before running
``npx buf generate``: buf fails with "open generated/aeroalpes.protoset: no such file or
directory", so ``docker build`` (docker-compose, the k8s image) stops at the web stage. There is
no Docker engine here: the test replays that stage in a temp dir, copying exactly what its COPY
lines copy and running its RUN lines, with the repo's node_modules standing in for ``npm ci``
(same package-lock.json). Expected: the stage builds web/dist/app.js."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.support.components import REPO


def _web_stage() -> tuple[list[tuple[list[str], str]], list[str]]:
    """(the web stage's COPYs from the context as (sources, destination), its RUN commands)."""
    lines = (REPO / "Dockerfile").read_text().splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("FROM node"))
    end = next(n for n in range(start + 1, len(lines)) if lines[n].startswith("FROM "))
    copied: list[tuple[list[str], str]] = []
    runs: list[str] = []
    for line in lines[start + 1 : end]:
        words = shlex.split(line, comments=True)
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            copied.append((words[1:-1], words[-1]))
        elif words[:1] == ["RUN"]:
            runs.append(line.split("RUN", 1)[1].strip())
    return copied, runs


def test_the_dockerfile_web_stage_builds_the_app(tmp_path: Path) -> None:
    copied, runs = _web_stage()
    assert any("buf.gen.yaml" in sources for sources, _ in copied) and runs
    for sources, destination in copied:  # WORKDIR /src: destinations are relative to it
        target = tmp_path / destination
        for name in sources:
            source = REPO / name.rstrip("/")
            if source.is_dir():  # a directory's contents go into the destination
                shutil.copytree(
                    source, target, ignore=shutil.ignore_patterns("dist"), dirs_exist_ok=True
                )
            elif destination.endswith("/") or len(sources) > 1:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / source.name)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    shutil.rmtree(tmp_path / "web" / "src" / "gen", ignore_errors=True)  # built by the stage
    assert (REPO / "node_modules" / ".bin" / "buf").exists(), "make npm first"
    (tmp_path / "node_modules").symlink_to(REPO / "node_modules")  # for `npm ci`
    for run in runs:
        steps = [s.strip() for s in run.split("&&") if not s.strip().startswith("npm ci")]
        if not steps:
            continue
        done = subprocess.run(
            ["bash", "-c", " && ".join(steps)],
            cwd=tmp_path,
            env={**os.environ, "CI": "true"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"RUN {run}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert (tmp_path / "web" / "dist" / "app.js").exists()
