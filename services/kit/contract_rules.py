"""The contract's own rules: the ``buf.validate`` annotations of protos/, checked on every request
(protovalidate) and reported as field violations with today's paths.

Paths: field names joined by ``.``, list items as ``name[0]``, map entries as ``name['key']``
(e.g. ``itinerarios[0].odos[0].segmentos[0].legs[0].fecha_llegada``). A rule of a message
(``option (buf.validate.message).cel``) is reported at a field of that message: its id names the
field before its last dot (``fecha_llegada.valida`` → ``…legs[0].fecha_llegada``; an id with
no dot: the message itself). When a list breaks its rule on how many items it has (an id ending
in ``.cantidad``), its items' violations are left out, as the hand-written checks did. The
browser applies the same rules with the same conventions (web/)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import protovalidate
from buf.validate import validate_pb2
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

from services.kit.errors import FieldViolation, InvalidRequest
from services.kit.type_plans import Holds, TypePlans

log = logging.getLogger(__name__)

_validator = protovalidate.Validator()
# buf.validate.MessageRules.cel (FieldRules.int32 has the number 3 too: the name tells them apart)
_MESSAGE_CEL = ("cel", 3)
_COUNT = ".cantidad"  # the id's ending of a rule on how many items a list has
Key = tuple[int, ...]


DataRules = Callable[[Any, Any], Sequence[FieldViolation]]
Bounds = Callable[[Any], Sequence[FieldViolation]]


def _under(path: str, lists: Sequence[FieldViolation]) -> bool:
    return any(path.startswith(f"{v.field}[") for v in lists)


def enforced(registrations: Iterable[Any]) -> dict[str, Any]:
    """The servicers, by full service name, that declare ``CONTRACT_RULES = True``: every
    servicer of the system does (a test of the contract keeps it so); a test's stand-in servicer
    that answers made-up ids does not, and sees its requests as sent."""
    servicers = {
        r.name: r.servicer
        for r in registrations
        if getattr(r.servicer, "CONTRACT_RULES", False) is True
    }
    for name in servicers:
        _compile(name)
    return servicers


def checker(servicer: Any, method: str) -> Callable[[Any, Any], None]:
    """The check of one method's requests: first the servicer's ``BOUNDS[method](request)``, a
    count the contract cannot state (legs in all): a list over it answers once, its items'
    violations left out; then the contract's rules and, when they refuse a request, the
    servicer's data rules for the method (``DATA_RULES[method](request, context)``) in the same
    answer, as when every check was the servicer's. Not when a list has too many items (an empty
    one is fine): the rest of such a request is not looked at."""
    data: DataRules | None = getattr(servicer, "DATA_RULES", {}).get(method)
    bounds: Bounds | None = getattr(servicer, "BOUNDS", {}).get(method)

    def run(request: Any, context: Any) -> None:
        outer = list(bounds(request)) if bounds is not None else []
        try:
            check(request)
        except _Refused as refused:
            if outer:  # the items of a list over its bound are not looked at
                inside = [v for v in refused.violations if not _under(v.field, outer)]
                raise InvalidRequest([*inside, *outer]) from None
            extra = [] if data is None or refused.too_long else data(request, context)
            found = [*refused.violations, *(v for v in extra if v not in refused.violations)]
            raise InvalidRequest(found) from None
        if outer:
            raise InvalidRequest(outer)

    return run


def _compile(service: str) -> None:
    """Compiles the rules of a service's requests now, at start-up, rather than on the first call
    of each (CEL and regular expressions); one that does not compile is logged here."""
    try:
        methods = descriptor_pool.Default().FindServiceByName(service).methods
    except KeyError:
        return  # not in the contract (a test's own service)
    for method in methods:
        try:
            _validator.collect_violations(message_factory.GetMessageClass(method.input_type)())
        except (protovalidate.CompilationError, protovalidate.EvaluationError) as exc:
            log.error("rules of %s failed: %s", method.input_type.full_name, exc)


def check(request: object) -> None:
    """Raises InvalidRequest with every rule ``request`` breaks; nothing for a valid one."""
    if not isinstance(request, Message):
        return  # a raw-bytes handler: nothing typed to check
    over: list[tuple[Key, FieldViolation]] = []
    checked = _cut(request, "", (), over) or request
    try:
        found = _validator.collect_violations(checked)
    except (protovalidate.CompilationError, protovalidate.EvaluationError) as exc:
        # A rule of ours that does not compile or evaluate is our bug, not the client's; still,
        # what a client sends must not end as INTERNAL: refuse it, say why in the log.
        log.error("rules of %s failed: %s", request.DESCRIPTOR.full_name, exc)
        raise InvalidRequest([FieldViolation("", "no se pudo validar el mensaje")]) from None
    if found or over:
        too_long = bool(over) or any(
            v.proto.rule_id.endswith(_COUNT) and len(v.field_value) for v in found
        )
        raise _Refused(violations(request.DESCRIPTOR, found, over), too_long)


# A list's count rule (an id ending in .cantidad) is written "size(this) > N ? 'message'" or
# "size(this) <= N ? '' : 'message'": the kit reads its bound and message from it, so a list over
# its bound is refused as such without evaluating its items (a client may send 1 MiB of them).
_OVER = re.compile(r"size\(this\) > (\d+) \? '([^']*)'|size\(this\) <= (\d+) \? '' : '([^']*)'")


def count_rule(field: Any) -> tuple[int, str] | None:
    """(bound, message) of a repeated field's count rule, if it has one."""
    options = field.GetOptions()
    if not options.HasExtension(validate_pb2.field):
        return None
    for rule in options.Extensions[validate_pb2.field].cel:
        found = _OVER.search(rule.expression) if rule.id.endswith(_COUNT) else None
        if found:
            bound, message = (
                (found.group(1), found.group(2)) if found.group(1) else found.group(3, 4)
            )
            return int(bound), message
    return None


class _Look(NamedTuple):
    """A field _cut looks at: a list with a count rule, or one holding messages that may."""

    name: str
    number: int
    repeated: bool
    bound: tuple[int, str] | None  # a list's count rule: (bound, message)
    inside: bool  # its message(s) hold, at some depth, a list with a count rule


def _looks(descriptor: Any, holds: Holds) -> tuple[_Look, ...]:
    """The fields of a type _cut looks at, so a request's walk goes only where a list with a
    count rule can be (not into dates, places...)."""
    looks = []
    for field in descriptor.fields:
        entry = field.message_type
        is_map = entry is not None and entry.GetOptions().map_entry
        bound = count_rule(field) if field.is_repeated else None
        inside = entry is not None and not is_map and holds(entry)
        if bound is not None or inside:
            looks.append(_Look(field.name, field.number, field.is_repeated, bound, inside))
    return tuple(looks)


_plan = TypePlans(_looks)


def _cut(message: Any, path: str, key: Key, over: list[tuple[Key, FieldViolation]]) -> Any:
    """A copy of ``message`` whose lists over their count rule are emptied (each one's violation
    added to ``over``), or None when no list is over its bound."""
    cut = None
    for look in _plan(message.DESCRIPTOR):
        here = f"{path}.{look.name}" if path else look.name
        if not look.repeated:
            inner = (
                _cut(getattr(message, look.name), here, (*key, look.number, 0), over)
                if message.HasField(look.name)
                else None
            )
            if inner is not None:
                cut = cut or _copy(message)
                getattr(cut, look.name).CopyFrom(inner)
            continue
        items = getattr(message, look.name)
        if look.bound is not None and len(items) > look.bound[0]:
            over.append(((*key, look.number, 0), FieldViolation(here, look.bound[1])))
            cut = cut or _copy(message)
            cut.ClearField(look.name)
            continue
        if not look.inside:
            continue
        for n, item in enumerate(items):
            inner = _cut(item, f"{here}[{n}]", (*key, look.number, n), over)
            if inner is not None:
                cut = cut or _copy(message)
                getattr(cut, look.name)[n].CopyFrom(inner)
    return cut


def _copy(message: Any) -> Any:
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


class _Refused(InvalidRequest):
    """The contract's refusal; ``too_long`` when a list has more items than its rule allows."""

    def __init__(self, violations: Sequence[FieldViolation], too_long: bool) -> None:
        super().__init__(violations)
        self.too_long = too_long


def violations(
    root: Any, found: list[Any], over: Sequence[tuple[Key, FieldViolation]] = ()
) -> list[FieldViolation]:
    """protovalidate's violations as field violations, with those of the lists found over their
    bound (``over``: emptied before protovalidate saw them), in the contract's field order."""
    located = [(_locate(root, v.proto), v.proto.rule_id) for v in found]
    counted = {path for (path, _, _), rule in located if rule.endswith(_COUNT)}
    emptied = {v.field for _, v in over}
    kept = [
        (key, FieldViolation(path, message))
        for (path, key, message), _ in located
        if path not in emptied and not any(path.startswith(f"{outer}[") for outer in counted)
    ]
    kept += over
    kept.sort(key=lambda item: item[0])  # stable: one field's rules keep their order
    return [violation for _, violation in kept]


def _locate(root: Any, violation: Any) -> tuple[str, Key, str]:
    """(path, sort key, message) of one violation (a ``buf.validate.Violation``)."""
    names: list[str] = []
    key: list[int] = []
    message: Any = root
    for element in violation.field.elements if violation.field else ():
        name, sub = element.field_name, element.subscript
        if sub is not None:
            name += f"[{sub.value!r}]" if sub.field == "string_key" else f"[{sub.value}]"
        names.append(name)
        key += [element.field_number, sub.value if sub and sub.field == "index" else 0]
        field = message.fields_by_number.get(element.field_number) if message else None
        message = field.message_type if field is not None else None
    rule = violation.rule.elements if violation.rule else ()
    of_message = not rule or (rule[0].field_name, rule[0].field_number) == _MESSAGE_CEL
    if of_message and "." in violation.rule_id:
        for name in violation.rule_id.rsplit(".", 1)[0].split("."):
            names.append(name)
            field = message.fields_by_name.get(name) if message else None
            key += [field.number if field is not None else 0, 0]
            message = field.message_type if field is not None else None
    return ".".join(names), tuple(key), violation.message
