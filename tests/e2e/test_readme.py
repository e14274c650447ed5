"""The README's grpcurl recipes run as written against a `make run` mesh: every command line of the
section's shell blocks, in order, in one shell (so $TOKEN and $SAGA carry over), with only the
mesh's ports substituted for 8080/8081. A line ending in ``# → Code`` must fail with that gRPC
code; every other line must succeed. No line is left out."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.components import unavailable
from tests.support.mesh import Mesh

REPO = Path(__file__).resolve().parents[2]
SECTION = "## grpcurl recipes"
MARK = "::readme-line-done::"
EXPECTED = re.compile(r"#\s*→\s*(\w+)\s*$")


def recipes() -> list[str]:
    """The command lines of the section's ```bash blocks (comments and blank lines dropped)."""
    text = (REPO / "README.md").read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


@pytest.fixture(scope="module")
def mesh(default_mesh: Mesh) -> Mesh:
    """The shared mesh of `make run`'s settings: as good as a fresh one for the recipes, whose
    fixed e-mail and keys (examples/registrar_usuario.json, "op-1") no other test uses, and whose
    reads name only the customer and saga they created."""
    if not shutil.which("jq"):
        unavailable("jq is not installed (the README's recipes use it)")
    return default_mesh


def test_the_section_has_the_recipes_a_newcomer_needs() -> None:
    lines = recipes()
    assert any(line.startswith("TOKEN=$(") for line in lines)
    authenticated = [line for line in lines if "SagasService/" in line or "Notificaciones" in line]
    unauthenticated = [line for line in authenticated if '-H "$A"' not in line]
    assert unauthenticated == [line for line in lines if line.endswith("# → Unauthenticated")]
    assert all("-rpc-header" in line for line in lines if "x-envoy-fault" in line)


def test_every_recipe_runs_as_written(mesh: Mesh, tmp_path: Path) -> None:
    lines = recipes()
    # pipefail: a failing grpcurl before `| jq` fails its line; stderr into stdout, so each line's
    # error text stays with that line's output.
    script = "set -o pipefail\nexec 2>&1\n" + "\n".join(
        line.replace("127.0.0.1:8080", mesh.edge).replace("127.0.0.1:8081", mesh.internal)
        + f'\necho "{MARK} $?"'
        for line in lines
    )
    # Then every variable a recipe captured from an answer, to check none came back empty.
    captured = [m[1] for line in lines if (m := re.match(r"(\w+)=\$\(", line))]
    script += "\n" + "".join(f'echo "{name}=${name}"\n' for name in captured)
    result = subprocess.run(
        ["bash", "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    # Each line's output (its errors included) ends at its marker, which carries its exit code.
    outputs = result.stdout.split(MARK)
    assert len(outputs) == len(lines) + 1, result.stdout + result.stderr
    for n, line in enumerate(lines):
        said = outputs[n] if n == 0 else outputs[n].split("\n", 1)[-1]
        code = int(outputs[n + 1].split("\n", 1)[0])
        expected = EXPECTED.search(line)
        if expected:
            assert code != 0, f"meant to fail with {expected[1]}: {line}"
            assert f"Code: {expected[1]}" in said, (line, said)
        else:
            assert code == 0, f"failed: {line}\n{said}"
    values = dict(line.split("=", 1) for line in outputs[-1].splitlines()[1:])
    assert set(values) == set(captured) == {"ID_CLIENTE", "TOKEN", "SAGA", "PAGO"}
    for name, value in values.items():
        assert value and value != "null", f"${name} came back empty: {result.stderr}"
    assert '"estado": "ESTADO_SAGA_COMPLETADA"' in result.stdout  # the example booking went through
