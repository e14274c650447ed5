"""A context imports only the kit, the shared kernel (comun), the generated contract and itself."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVICES = Path(__file__).resolve().parents[2] / "services"
SHARED = {"kit", "comun"}  # what every context may import
NOT_CONTEXTS = {"mesh"}  # the local runner wires every context together: it may import them all
# The shared packages sit below the contexts: they import only each other, never a context.
ALLOWED_FOR_SHARED = {"kit": {"kit"}, "comun": {"kit", "comun"}}


def imported_modules(path: Path, package: str) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports (nested imports too; relative ones made absolute)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            elif node.module:
                yield node.lineno, node.module


def cross_imports(root: Path) -> list[str]:
    """``file:line: imports services.<other>`` for every import a package of ``root`` may not
    make."""
    found = []
    for package_dir in sorted(p for p in root.iterdir() if (p / "__init__.py").exists()):
        name = package_dir.name
        if name in NOT_CONTEXTS:
            continue
        allowed = ALLOWED_FOR_SHARED.get(name, {*SHARED, name})
        for path in sorted(package_dir.rglob("*.py")):
            package = ".".join(("services", *path.relative_to(root).parent.parts))
            for line, module in imported_modules(path, package):
                parts = module.split(".")
                if parts[0] == "services" and len(parts) > 1 and parts[1] not in allowed:
                    found.append(f"{path.relative_to(root.parent)}:{line}: imports {module}")
    return found


def test_contexts_import_only_the_kit_comun_the_contract_and_themselves() -> None:
    assert cross_imports(SERVICES) == []


def test_the_check_sees_the_contexts() -> None:
    # An empty result must come from packages read, not from a root with nothing in it.
    names = {p.name for p in SERVICES.iterdir() if (p / "__init__.py").exists()}
    assert {"sagas", "reservas", "gds", "kit", "comun"} <= names


def write(root: Path, module: str, text: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.parent.mkdir(parents=True, exist_ok=True)
    for parent in path.relative_to(root).parents:
        if parent != Path("."):
            (root / parent / "__init__.py").touch()
    path.write_text(text)


@pytest.mark.parametrize(
    ("module", "text"),
    [
        ("gds.servicer", "from services.reservas.itinerario import Itinerario\n"),
        ("gds.servicer", "import services.reservas.proto\n"),
        ("gds.servicer", "from services.reservas import proto\n"),
        ("gds.servicer", "def f():\n    from services.pagos import tables\n"),  # nested
        ("gds.servicer", "from ..reservas import proto\n"),  # relative, out of gds
        ("comun.proto", "from services.reservas import tables\n"),  # the kernel stays below
        ("kit.db", "from services.comun import itinerario\n"),  # the kit below the kernel
    ],
)
def test_a_planted_cross_import_is_named(tmp_path: Path, module: str, text: str) -> None:
    root = tmp_path / "services"
    write(root, "reservas.proto", "")
    write(root, module, text)
    found = cross_imports(root)
    assert len(found) == 1
    assert found[0].startswith(f"services/{module.replace('.', '/')}.py:")


def test_allowed_imports_pass(tmp_path: Path) -> None:
    root = tmp_path / "services"
    write(
        root,
        "gds.servicer",
        "import grpc\nfrom aeroalpes.gds.v1 import gds_pb2\nfrom services.kit import db\n"
        "from services.comun import proto\nfrom services.gds import tables\nfrom . import domain\n",
    )
    write(root, "mesh.runner", "from services.gds import servicer\n")
    assert cross_imports(root) == []
