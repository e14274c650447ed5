"""Log lines are JSON objects that carry the request id and extra fields."""

import json
import logging

from services.kit.logs import JsonFormatter, request_id


def format_line(message: str, **extra: object) -> dict[str, object]:
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": message, **extra})
    return dict(json.loads(JsonFormatter("reservas").format(record)))


def test_line_carries_service_message_request_id_and_extras() -> None:
    token = request_id.set("req-42")
    try:
        line = format_line("reserva %s creada", args=("r1",), id_reserva="r1")
    finally:
        request_id.reset(token)
    assert line["msg"] == "reserva r1 creada"
    assert (line["service"], line["request_id"], line["id_reserva"]) == ("reservas", "req-42", "r1")


def test_no_request_id_outside_a_call() -> None:
    assert "request_id" not in format_line("arranque")
