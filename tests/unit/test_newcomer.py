"""What a newcomer reads first: ``python -m services.mesh --help`` and ``make demo``'s timelines."""

import math
import re
import subprocess
import sys
from pathlib import Path

from services.mesh import demo
from services.mesh.runner import SERVICES

REPO = Path(__file__).resolve().parents[2]
# env_int(env, "AEROALPES_X", 50) / env_port(...) / env_str(...) calls, and plain env.get(...).
READ = re.compile(r'env_\w+\([^,()]+, "(AEROALPES_\w+)", ([^)]+)\)|env\.get\("(AEROALPES_\w+)"\)')
# The runner's own settings, and the start-up checks it runs before anything starts.
READERS = ("services/mesh/settings.py", "services/mesh/runner.py", "services/kit/preflight.py")


def help_text() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "services.mesh", "--help"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout


def test_help_lists_every_variable_the_runner_reads_with_its_default() -> None:
    source = "".join((REPO / path).read_text() for path in READERS if (REPO / path).exists())
    found = READ.findall(source)
    assert len(found) > 10  # the pattern still matches how the runner reads its settings
    table = [line for line in help_text().splitlines() if line.startswith("  AEROALPES_")]
    shown = {line.split()[0]: line.split()[1] for line in table}
    for name, default, bare in found:
        name = name or bare
        assert name in shown, f"{name} is read by the runner but missing from --help"
        if default:
            literal = default.strip().strip('"').replace("_", "")
            if re.fullmatch(r"[\d* ]+", literal):  # e.g. 1024 * 1024
                literal = str(math.prod(int(factor) for factor in literal.split("*")))
            expected = literal
            assert shown[name].lstrip("./") == expected.lstrip("./"), name
    for service, port in SERVICES.items():
        assert shown[f"AEROALPES_{service.upper()}_PORT"] == str(port)


def paso(nombre: str, estado: str, **extra: object) -> dict[str, object]:
    return {"indice": 0, "nombre": nombre, "estado": f"ESTADO_PASO_{estado}", **extra}


def test_demo_never_shows_a_step_without_compensation_as_compensated() -> None:
    at = "2026-01-01T10:00:0"
    saga = {
        "id": "s-1",
        "estado": "ESTADO_SAGA_COMPENSADA",
        "motivo": "pagar_reserva: PAGO_RECHAZADO",
        "pasos": [
            paso("validar_cliente", "COMPENSADO", intentos=1, fecha_actualizacion=at + "0.123Z"),
            paso("crear_reserva", "COMPENSADO", intentos=2, fecha_actualizacion=at + "1.000Z"),
            paso("pagar_reserva", "FALLIDO", intentos=1, error="PAGO_RECHAZADO"),
            paso("confirmar_gds", "PENDIENTE"),
        ],
    }  # fmt: skip
    lines = demo.timeline(saga).splitlines()
    assert "NOTHING_TO_UNDO" in lines[2] and "COMPENSADO" not in lines[2]
    assert "COMPENSADO" in lines[3] and "at 10:00:01.000" in lines[3]
    assert not any(line.rstrip().endswith(" at") or " at  " in line for line in lines)
    assert " at " not in lines[5]  # a step never run has no time
