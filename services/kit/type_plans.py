"""Per protobuf message type, a plan worked out once from its descriptor: what a walk over a
request of that type must look at. The request checks (kit/validation.py, kit/contract_rules.py)
walk every request; with a plan they skip the fields that cannot matter (numbers, dates...)
without asking the descriptor again on every call."""

from __future__ import annotations

from collections.abc import Callable, Sized
from typing import Generic, TypeVar

from google.protobuf.descriptor import Descriptor

P = TypeVar("P", bound=Sized)  # a plan: empty when there is nothing to look at in the type
Holds = Callable[[Descriptor], bool]  # a nested type: does its plan look at anything?


class TypePlans(Generic[P]):
    """``plans(descriptor)``: the type's plan, from ``derive(descriptor, holds)``, which asks
    ``holds(nested)`` of the message types it contains. A type met again while its own plan is
    being built (a recursive type) counts as holding something: looked into, as a walk without
    plans would. Plans are published whole, so a thread never finds one half built."""

    def __init__(self, derive: Callable[[Descriptor, Holds], P]) -> None:
        self._derive = derive
        self._done: dict[Descriptor, P] = {}

    def __call__(self, descriptor: Descriptor) -> P:
        plan = self._done.get(descriptor)
        if plan is None:
            built: dict[Descriptor, P | None] = {}
            self._build(descriptor, built)
            self._done.update((type_, p) for type_, p in built.items() if p is not None)
            plan = self._done[descriptor]
        return plan

    def _build(self, descriptor: Descriptor, built: dict[Descriptor, P | None]) -> bool:
        if descriptor in self._done:
            return bool(self._done[descriptor])
        if descriptor in built:
            plan = built[descriptor]
            return plan is None or bool(plan)  # None: being built (recursive)
        built[descriptor] = None
        plan = self._derive(descriptor, lambda nested: self._build(nested, built))
        built[descriptor] = plan
        return bool(plan)
