"""Review #15 (relay batching): the binlog Prefetch is bounded in transactions (10,000), not in
changes or bytes, so while the relay is stuck publishing (a broker stall: ``send_all`` waits up to
30 s for acks before the retry) the reader thread keeps pulling the binlog into memory: up to
10,000 whole transactions of any size. With transactions of 500 changes that is 5,000,000 changes
(each with its before/after images) held by the relay, re-read after every reconnect.

Expected: the read-ahead is bounded in changes, a few batches (here at most 20 batches of
``relay.BATCH`` changes); the reader waits for the relay to take what it read instead of reading
the whole backlog. On HEAD the reader reads all 2,000 transactions (1,000,000 changes) without the
relay taking a single batch. Pure in-process test of ``binlog.Prefetch`` with a finite source.

The source records how many changes it handed over while nobody took any: on HEAD it is exhausted
at once (that event is the synchronisation); a bounded Prefetch never exhausts it, the wait gives
up and the bound is checked on what was pulled."""

from __future__ import annotations

import threading
from collections.abc import Generator

from services.cdc import binlog
from services.cdc.envelope import Change
from services.cdc.relay import BATCH

TRANSACTIONS = 2_000
CHANGES_PER_TRANSACTION = 500
BOUND = 20 * BATCH  # generous: a bounded read-ahead is a handful of batches


def test_prefetch_reads_ahead_a_bounded_number_of_changes_while_the_relay_is_stuck() -> None:
    change = Change("db", "t", "c", None, {"id": 1, "texto": "x" * 100}, "1", "f:4:0", 1)
    pulled = [0]  # changes handed to the Prefetch so far (nobody takes any in this test)
    exhausted = threading.Event()

    def source() -> Generator[binlog.Transaction, None, None]:
        for n in range(TRANSACTIONS):
            pulled[0] += CHANGES_PER_TRANSACTION
            yield binlog.Transaction(
                [change] * CHANGES_PER_TRANSACTION, {"log_file": "f", "log_pos": n}
            )
        exhausted.set()

    prefetch = binlog.Prefetch(source())
    try:
        # The relay is publishing the previous batch (stalled broker): it takes nothing meanwhile.
        # An unbounded reader passes BOUND (21 transactions) in milliseconds and is exhausted
        # well within the wait; a bounded one is never exhausted, so the wait is always spent.
        exhausted.wait(timeout=3)
        assert pulled[0] <= BOUND, (
            f"the Prefetch pulled {pulled[0]:,} changes ({pulled[0] // CHANGES_PER_TRANSACTION:,}"
            f" transactions) into memory while the relay took none; expected at most {BOUND:,}"
        )
    finally:
        prefetch.close()
