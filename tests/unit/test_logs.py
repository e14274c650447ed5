"""Log lines are JSON objects that carry the request id and extra fields, and no personal data."""

import json
import logging
import sys

from services.kit.logs import RECORTADO, JsonFormatter, mask_email, masked_cut, request_id


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


def test_emails_are_masked_in_messages_extras_and_tracebacks() -> None:
    try:
        raise ValueError("duplicate entry 'juana.perez@example.com' for key 'email'")
    except ValueError:
        record = logging.makeLogRecord(
            {
                "name": "t",
                "levelname": "ERROR",
                "msg": "e-mail to %s",
                "args": ("Juana.Perez+viajes@correo.example.co",),
                "exc_info": sys.exc_info(),
                "destino": "otra@example.org",
            }
        )
    text = JsonFormatter("notificaciones").format(record)
    line = json.loads(text)
    assert line["msg"] == "e-mail to J***@correo.example.co"
    assert line["destino"] == "o***@example.org"
    assert "j***@example.com" in line["exc"]
    assert "perez" not in text.lower() and "otra@" not in text


def test_extras_named_like_personal_fields_are_never_written() -> None:
    line = format_line("registro", email="a@b.co", cedula="1020304050", id_usuario="u1")
    assert (line["email"], line["cedula"], line["id_usuario"]) == ("***", "***", "u1")


def test_mask_email_keeps_ordinary_text() -> None:
    text = "listening on 127.0.0.1:50061, grpc@1.85 ready; user@localhost"
    assert mask_email(text) == text


def test_mask_email_masks_every_local_part_clientes_accepts() -> None:
    """Accents, apostrophes, any punctuation (domain.email_valido): all but the first character."""
    for local in ("josé.pérez", "juana'o.brien", "ana=maría!{x}", "Ñandú_99"):
        text = mask_email(f"la cuenta {local}@correo.example.com no está activa")
        assert text == f"la cuenta {local[0]}***@correo.example.com no está activa", text


def test_mask_email_keeps_what_wraps_an_address() -> None:
    assert mask_email("entry 'juana.perez@example.com' for") == "entry 'j***@example.com' for"
    assert mask_email("<juana@example.com>, (ana@example.org)") == (
        "<j***@example.com>, (a***@example.org)"
    )
    assert mask_email(mask_email("juana@example.com")) == "j***@example.com"


def test_masked_cut_leaves_no_address_partly_unmasked_at_the_cut() -> None:
    earlier = "".join(f"{'a' * 60}{i:02d}@correo.example.com " for i in range(25))
    for pad in range(0, 700, 7):  # the cut and the head's end at every place of the address
        text = earlier + "x" * pad + "juana.perez@correo.example.com y más " * 3
        for cut in (False, True):
            out = masked_cut(text, 2000, cut)
            assert len(out) <= 2000 and out.endswith(RECORTADO)
            assert "juana" not in out and "a" * 20 not in out, out[-80:]
    # An address with no space after it within an address's length: its start goes too.
    out = masked_cut("x " * 1100 + "juana.perez@" + "correo." * 200 + "com", 2000)
    assert "juana" not in out and len(out) <= 2000


def test_masked_cut_of_a_short_text_only_masks() -> None:
    assert masked_cut("la cuenta juana@example.com", 2000) == "la cuenta j***@example.com"
    # a head the SDK already cut ("…juana.pe"): its last word goes, the marker says so
    assert masked_cut("la cuenta de juana.pe", 2000, cut=True) == "la cuenta de " + RECORTADO
