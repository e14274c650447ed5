"""The saga log's writer: transitions of many sagas committed together (group commit)."""

from __future__ import annotations

import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection

from services.kit import deadline, errors
from services.kit.db import LATE_COMMIT, UnitOfWork
from services.sagas import metrics

T = TypeVar("T")
MAX_BATCH = 64
# How long a batch waits for a lock (InnoDB's least): a write that waits longer for its own
# row leaves the batch and is written alone by its caller, so no saga waits behind another's.
BATCH_LOCK_WAIT_S = 1.0


class _Write(Generic[T]):
    def __init__(self, write: Callable[[Connection], T]) -> None:
        self.write = write
        # The caller's context (its current span above all): the events a write adds to the
        # outbox carry the caller's trace, though the writer's thread runs them.
        self.context = contextvars.copy_context()
        # Held until the writer is done with it: a bare lock, where an Event's Condition cost
        # ~2.7 % of the orchestrator's CPU (py-spy, Condition.notify on every write).
        self.pending = threading.Lock()
        self.pending.acquire()
        self.result: T | None = None
        self.error: BaseException | None = None
        self.alone = False  # the batch could not take it: the caller writes it by itself


class GroupCommit:
    """One thread writes every transition: it takes all that are waiting, runs them in one
    transaction, and commits once. A batch takes the write lock once and
    costs one commit to disk, where each transition used to (a profile put 54 % of the
    orchestrator's busy time in saves: waiting for SQLite's write lock, then the fsync).

    ``submit`` returns once its write is committed, so a transition is still durable before
    the caller goes on. It raises what its own write raised (the batch rolled back and run
    again without it: the others' writes unaffected). A write that meets a database error (a
    lock it waited for too long, a deadlock) is taken out of the batch, the others run again
    in a new transaction, and the caller runs it alone in a transaction of its own, as every
    write ran before there was a writer: one saga's trouble stays its own. Nothing waits for a
    batch to fill: a lone write is committed at once."""

    def __init__(self, uow: Callable[[], UnitOfWork], max_batch: int = MAX_BATCH) -> None:
        self._uow = uow
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Write[object]] = queue.SimpleQueue()
        self._started = False
        self._lock = threading.Lock()

    def submit(self, write: Callable[[Connection], T]) -> T:
        item = _Write(write)
        self._start()
        self._queue.put(item)  # type: ignore[arg-type]
        item.pending.acquire()  # until the writer releases it
        if item.alone:
            with self._uow() as uow:
                result = write(uow.session)
                uow.commit()
            return result
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[return-value]

    def _start(self) -> None:
        with self._lock:
            if not self._started:
                threading.Thread(target=self._run, name="saga-log-writer", daemon=True).start()
                self._started = True

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[_Write[object]]) -> None:
        metrics.GROUP_COMMIT_SIZE.observe(len(batch))
        pending, savepoints = list(batch), False
        try:
            while pending:
                # A batch run again (after a refusal or a database error) has a savepoint per
                # write: more refusals (sagas taken over together) then cost no more runs.
                pending, savepoints = self._attempt(pending, savepoints), True
        finally:
            for item in batch:
                item.pending.release()

    def _attempt(self, items: list[_Write[object]], savepoints: bool) -> list[_Write[object]]:
        """Runs ``items`` in one transaction and commits; what is left to run again."""
        current: _Write[object] | None = None
        try:
            with contextlib.ExitStack() as stack:
                token = deadline.set_remaining(BATCH_LOCK_WAIT_S)
                try:
                    uow = stack.enter_context(self._uow())  # begun: with the batch's lock wait
                finally:
                    deadline.reset(token)
                for current in items:
                    current.error = None  # a second run of the batch starts afresh
                    try:
                        if savepoints:
                            with uow.session.begin_nested():
                                current.result = current.context.run(current.write, uow.session)
                        else:
                            current.result = current.context.run(current.write, uow.session)
                    except sa.exc.DBAPIError:
                        raise  # it may have ended the transaction (InnoDB, on a deadlock)
                    except Exception as error:  # this write's refusal (a lost lease) only
                        current.error = error
                        if not savepoints:
                            # Its statements may have run in part: the whole transaction goes
                            # (rolled back on the way out) and the others run again without
                            # it. Rare, so a batch pays no savepoint per write until then (a
                            # profile put 6 % of the orchestrator's CPU in them).
                            return [item for item in items if item is not current]
                current = None
                late = [item for item in items if item.context.run(deadline.passed)]
                if late:
                    # Their callers stopped waiting (a new saga's ReservarVuelo): nothing of
                    # theirs is committed now, as their own unit of work would refuse; the
                    # others run again without them.
                    for item in late:
                        item.error = errors.DeadlineTooShort(LATE_COMMIT)
                    return [item for item in items if item not in late]
                uow.commit()
        except sa.exc.DBAPIError:
            if current is None:  # beginning or committing: nobody's in particular
                for item in items:
                    item.alone = True
                return []
            current.alone = True
            return [item for item in items if item is not current]
        except BaseException as error:  # a bug of ours: every write of the batch fails with it
            for item in items:
                item.error = item.error or error
        return []
