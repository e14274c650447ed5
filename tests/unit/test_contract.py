"""The contract: generated code matches protos/, and the design's names and fields hold."""

import filecmp
import subprocess
import sys
from pathlib import Path

from aeroalpes.sagas.v1 import sagas_pb2

from tests.support.components import REPO


def generate(into: Path) -> None:
    """What `make protos` runs (buf/validate/validate.proto from the installed package)."""
    protos = sorted(str(p.relative_to(REPO)) for p in (REPO / "protos").rglob("*.proto"))
    deps = into / "deps.binpb"
    subprocess.run([sys.executable, "protos/validate_deps.py", str(deps)], cwd=REPO, check=True)
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-Iprotos", f"--descriptor_set_in={deps}",
         f"--python_out={into}", f"--pyi_out={into}", f"--grpc_python_out={into}",
         f"--descriptor_set_out={into}/aeroalpes.protoset", "--include_imports",
         "--include_source_info", "buf/validate/validate.proto", *protos],
        cwd=REPO, check=True,
    )  # fmt: skip
    deps.unlink()
    (into / "buf" / "validate" / "validate_pb2_grpc.py").unlink()


def differences(a: Path, b: Path) -> list[str]:
    """Every path that is missing on one side or differs in content, recursively."""
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    found = [str(a / n) for n in cmp.left_only + cmp.right_only + cmp.diff_files]
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    found += [str(a / n) for n in mismatch + errors]
    for sub in cmp.common_dirs:
        found += differences(a / sub, b / sub)
    return sorted(set(found))


def test_generated_code_is_what_make_protos_produces(tmp_path: Path) -> None:
    generate(tmp_path)
    assert differences(REPO / "generated", tmp_path) == [], (
        "run `make protos` and commit generated/"
    )


def test_reservar_vuelo_request_has_exactly_the_designed_fields() -> None:
    fields = list(sagas_pb2.ReservarVueloRequest.DESCRIPTOR.fields_by_name)
    expected = [
        "id_cliente",
        "itinerarios",
        "pasajeros",
        "medio_pago",
        "idempotency_key",
        "esperar",
    ]
    assert fields == expected


def test_saga_states_use_the_design_names() -> None:
    names = set(sagas_pb2.EstadoSaga.keys())
    for state in ("EN_CURSO", "COMPENSANDO", "COMPLETADA", "COMPENSADA", "FALLIDA"):
        assert f"ESTADO_SAGA_{state}" in names
    steps = set(sagas_pb2.EstadoPaso.keys())
    for state in ("PENDIENTE", "EN_CURSO", "EXITOSO", "FALLIDO", "COMPENSANDO", "COMPENSADO"):
        assert f"ESTADO_PASO_{state}" in steps


def test_every_mutating_request_carries_an_idempotency_key() -> None:
    from google.protobuf import descriptor_pb2

    data = (REPO / "generated" / "aeroalpes.protoset").read_bytes()
    files = descriptor_pb2.FileDescriptorSet.FromString(data).file
    messages = {f"{f.package}.{m.name}": m for f in files for m in f.message_type}
    read_only = ("Obtener", "Listar", "Observar", "Suscribir", "Validar", "Autenticar")
    mutating = [
        (f"{f.package}.{s.name}", m)
        for f in files if f.package.startswith("aeroalpes.")
        for s in f.service for m in s.method
        if not m.name.startswith(read_only)
    ]  # fmt: skip
    assert len(mutating) == 11  # Registrar, Desactivar, Crear, Aprobar, Cancelar, Pagar, ...

    for service, method in mutating:
        fields = [field.name for field in messages[method.input_type.lstrip(".")].field]
        assert "idempotency_key" in fields, f"{service}.{method.name}"
