"""Review of #20: the registration's e-mail rule moved from Python's ``re`` to the contract's CEL
(RE2), where ``\\s`` is ASCII whitespace only; and it now sees the address as sent, where the hand
check saw it normalised (``normalizar_email``: Python's strip, which drops any Unicode space,
then lower case).

- An address with a no-break space inside (``ana\\u00a0perez@example.com``, which reads as
  "ana perez@...") was refused before #20 (``[^@\\s]`` in Python excludes U+00A0); the contract
  accepts it and clientes stores it. Expected: INVALID_ARGUMENT at ``email``, as before.
- An address pasted with a trailing no-break or em space (``ana@example.com\\u00a0``) was
  accepted before #20 and stored stripped; the contract refuses it ("no es un e-mail válido"),
  although the field's comment in clientes.proto says surrounding space is dropped. Expected: the
  registration succeeds with the address stored without the space, as before."""

from __future__ import annotations

import grpc

from tests.support import builders as b
from tests.support.grpc_assert import rpc_error, violated_fields
from tests.support.participants import Participants


def test_an_email_with_a_no_break_space_inside_is_refused(participants: Participants) -> None:
    registro = b.registrar_usuario()
    registro.email = f"ana\u00a0perez.{b.new_id()[:8]}@example.com"
    error = rpc_error(
        lambda: participants.clientes.RegistrarUsuario(registro, timeout=30),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert violated_fields(error) == ["email"]


def test_an_email_pasted_with_surrounding_unicode_space_is_stored_without_it(
    participants: Participants,
) -> None:
    for space in ("\u00a0", "\u2003"):
        address = f"ana.{b.new_id()[:8]}@example.com"
        registro = b.registrar_usuario()
        registro.email = f"{address}{space}"
        usuario = participants.clientes.RegistrarUsuario(registro, timeout=30).usuario
        assert usuario.email == address
