"""Hot-path writes compiled once per dialect and run on the driver's cursor.

SQLAlchemy's execute costs ~35 us per statement even for a statement built once (its cache
key, events, execution context and result set-up); these writes need none of it, only their
row count. A ``Prepared`` statement keeps, per dialect and set of values, the SQL text, where
each parameter comes from and its bind processor (UTC datetimes and the like), and runs on the
transaction's own driver connection: ~5 us. Used where the profiles put the statements (issue
#15): the saga log's writes, every service's outbox, the idempotency store, reservas' writes,
gds' and pagos' read and insert of ConfirmarReserva and PagarReserva.
Errors are handled by the Connection as its own execute would (wrapped, a lost connection
invalidated)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any, cast

import sqlalchemy as sa

_Bind = Callable[[Mapping[str, Any]], Any]


class Prepared:
    """An INSERT, UPDATE or DELETE run with ``run(connection, values)``, or a SELECT of plain
    columns with ``first``, in the connection's transaction. Every call of one statement
    passes the same keys (a new set is compiled once more); a value the statement would
    compute in Python (a column default) is refused when it is planned, since only
    SQLAlchemy's own execute computes it."""

    def __init__(self, statement: sa.UpdateBase | sa.Select[Any]) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, frozenset[str]], tuple[str, _Bind]] = {}

    def run(self, connection: sa.Connection, values: Mapping[str, Any]) -> int:
        """The number of rows the statement matched."""
        return int(self._execute(connection, values, lambda cursor: cursor.rowcount))

    def first(self, connection: sa.Connection, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """A SELECT's first row as the driver returns it: only for columns whose type converts
        nothing on the way out (strings, integers, bytes), which is checked when planned."""
        return self._execute(connection, values, lambda cursor: cursor.fetchone())  # type: ignore[no-any-return]

    def _execute(
        self, connection: sa.Connection, values: Mapping[str, Any], result: Callable[[Any], Any]
    ) -> Any:
        dialect = connection.dialect
        key = (dialect.name, frozenset(values))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(dialect, values)
        sql, bind = plan
        try:
            parameters = bind(values)
        except Exception as error:  # a type's bind processor refused a value
            raise sa.exc.StatementError(
                f"({type(error).__name__}) {error}", sql, None, error
            ) from error
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, parameters)
            found = result(cursor)
        except Exception as error:
            with contextlib.suppress(Exception):  # the connection may be gone: this error counts
                cursor.close()
            # As SQLAlchemy's execute handles it: wrapped (IntegrityError, OperationalError...)
            # so callers handle one kind of database error, and a lost connection invalidated,
            # so closing the unit of work does not roll back on a dead socket (whose error
            # would replace this one: INTERNAL for what is UNAVAILABLE).
            connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
        cursor.close()
        return found

    def _plan(self, dialect: sa.Dialect, values: Mapping[str, Any]) -> tuple[str, _Bind]:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(values))
        if isinstance(self.statement, sa.Select):
            for column in self.statement.selected_columns:
                if column.type._cached_result_processor(dialect, None) is not None:
                    raise ValueError(f"not for a Prepared SELECT (converted column): {column}")
        elif compiled.insert_prefetch or compiled.update_prefetch or compiled.effective_returning:
            raise ValueError(f"not for a Prepared statement (defaults or RETURNING): {compiled}")
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError(f"not for a Prepared statement (expanding parameters): {compiled}")
        processors = compiled._bind_processors  # the types' own, as SQLAlchemy's execute uses
        sources: dict[str, _Bind] = {}
        for param, name in compiled.bind_names.items():
            found = processors.get(name)
            if found is not None and not callable(found):  # a tuple type's: not used here
                raise ValueError(f"not for a Prepared statement (tuple parameter): {compiled}")
            processor = cast(Callable[[Any], Any] | None, found)
            if param.key in values:
                sources[name] = _value_of(param.key, processor)
            elif param.callable is None and (param.value is not None or not param.required):
                sources[name] = _constant(
                    param.value if processor is None else processor(param.value)
                )
            else:
                raise ValueError(f"no value for {param.key!r} in {compiled}")
        if compiled.positional:
            order = [sources[name] for name in compiled.positiontup or ()]
            return compiled.string, lambda values: tuple(source(values) for source in order)
        escaped = compiled.escaped_bind_names  # names the SQL text spells otherwise
        named = [(escaped.get(name, name), source) for name, source in sources.items()]
        return compiled.string, lambda values: {name: source(values) for name, source in named}


def _constant(value: Any) -> _Bind:
    return lambda _values: value


def _value_of(key: str, processor: Callable[[Any], Any] | None) -> _Bind:
    if processor is None:
        return lambda values: values[key]
    return lambda values: processor(values[key])
