"""The saga log's writer: transitions of many sagas committed together (group commit)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.kit.db import UnitOfWork
from services.sagas import metrics

T = TypeVar("T")
MAX_BATCH = 64


class _Write(Generic[T]):
    def __init__(self, write: Callable[[Session], T]) -> None:
        self.write = write
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """One thread writes every transition: it takes all that are waiting, runs each in its own
    savepoint of one transaction, and commits once. A batch takes the write lock once and
    costs one commit to disk, where each transition used to (a profile put 54 % of the
    orchestrator's busy time in saves: waiting for SQLite's write lock, then the fsync).

    ``submit`` returns once its batch is committed, so a transition is still durable before
    the caller goes on. It raises what its own write raised (its savepoint rolled back, the
    batch's other writes unaffected), or a database error of any write or of the commit
    (then nothing of the batch is written, and every write of it raises).
    Nothing waits for a batch to fill: a lone write is committed at once."""

    def __init__(self, uow: Callable[[], UnitOfWork], max_batch: int = MAX_BATCH) -> None:
        self._uow = uow
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Write[object]] = queue.SimpleQueue()
        self._started = False
        self._lock = threading.Lock()

    def submit(self, write: Callable[[Session], T]) -> T:
        item = _Write(write)
        self._start()
        self._queue.put(item)  # type: ignore[arg-type]
        item.done.wait()
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
        try:
            with self._uow() as uow:
                for item in batch:
                    try:
                        with uow.session.begin_nested():
                            item.result = item.write(uow.session)
                    except sa.exc.DBAPIError:
                        # The database's own failure may have ended the whole transaction
                        # (InnoDB rolls it all back on a deadlock): none of the batch counts.
                        raise
                    except Exception as error:  # this write's refusal (a lost lease) only
                        item.error = error
                uow.commit()
        except BaseException as error:  # the commit (or the transaction) failed: all of it did
            for item in batch:
                item.error = item.error or error
        finally:
            for item in batch:
                item.done.set()
