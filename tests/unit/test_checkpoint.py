"""The relay's saved position (a file written then renamed), the per-database SQLite
positions, valid only for the database identity they were read from, and the batches of whole
binlog transactions the relay checkpoints by."""

import json
import logging
import threading
from collections.abc import Generator
from pathlib import Path

import pytest

from services.cdc.binlog import Prefetch, Transaction
from services.cdc.checkpoint import Checkpoint, SqlitePositions
from services.cdc.envelope import Change


def test_nothing_saved_loads_as_none_and_a_save_loads_back(tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path / "var" / "cdc" / "binlog.json")  # neither folder exists yet
    assert checkpoint.load() is None
    checkpoint.save({"log_file": "mysql-bin.000002", "log_pos": 1234})
    assert checkpoint.load() == {"log_file": "mysql-bin.000002", "log_pos": 1234}
    checkpoint.save({"log_file": "mysql-bin.000002", "log_pos": 5678})
    assert Checkpoint(checkpoint.path).load() == {"log_file": "mysql-bin.000002", "log_pos": 5678}
    # Written whole then renamed: no temporary file is left to be mistaken for a position.
    assert sorted(p.name for p in checkpoint.path.parent.iterdir()) == ["binlog.json"]


def test_positions_resume_from_the_saved_seq_of_the_same_database() -> None:
    positions = SqlitePositions({"reservas": {"id": "A", "seq": 41}, "junk": 3})
    positions.bind("reservas", "A")
    assert positions.seq("reservas") == 41
    positions.advance("reservas", 57)
    assert positions.seq("reservas") == 57
    assert positions.saved() == {"reservas": {"id": "A", "seq": 57}}
    assert json.loads(json.dumps(positions.saved())) == positions.saved()


def test_another_database_under_the_same_name_is_read_from_its_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    positions = SqlitePositions({"reservas": {"id": "A", "seq": 41}})
    with caplog.at_level(logging.WARNING, logger="services.cdc.checkpoint"):
        positions.bind("reservas", "B")  # the file was replaced: its seqs mean something else
    assert positions.seq("reservas") == 0
    # Read again from the start: the operator is told which database and why.
    line = "reservas is another database than the checkpoint's: reading it from the start"
    assert line in caplog.messages
    assert positions.saved() == {"reservas": {"id": "B", "seq": 0}}


def test_a_database_seen_for_the_first_time_starts_at_zero() -> None:
    positions = SqlitePositions({})
    positions.bind("pagos", "P")
    assert positions.seq("pagos") == 0


def transaction(end: int, rows: int) -> Transaction:
    changes = [
        Change("db", "t", "c", None, {"n": n}, str(n), f"binlog.000001:{end}:{n}", 0)
        for n in range(rows)
    ]
    return Transaction(changes, {"log_file": "binlog.000001", "log_pos": end})


def stream(
    items: list[Transaction], then: Exception | None, done: threading.Event
) -> Generator[Transaction, None, None]:
    """A binlog stream as ``binlog.transactions`` yields it: ``items``, then ``then`` raised or,
    without one, heartbeats for ever (an idle server); ``done`` is set once it was closed."""
    try:
        yield from items
        if then is not None:
            raise then
        while True:
            yield Transaction([], None)
    finally:
        done.set()


def test_batches_hold_whole_transactions_in_order_up_to_the_size() -> None:
    done = threading.Event()
    items = [transaction(100 * i, rows=3) for i in range(1, 8)]
    source = Prefetch(stream(items, ValueError("stream lost"), done))
    batches: list[list[Transaction]] = []
    with pytest.raises(ValueError, match="stream lost"):
        while True:
            batches.append(source.batch(max_changes=5, wait_s=10))
    taken = [t for b in batches for t in b]
    assert taken == items, "each transaction once, whole, in binlog order, before the failure"
    assert [len(b) for b in batches] == [2, 2, 2, 1]  # 5 changes, rounded up to whole ones
    assert done.wait(10), "the failed stream was closed"
    with pytest.raises(ValueError, match="stream lost"):
        source.batch(max_changes=5, wait_s=10)  # and stays failed: the relay starts over


def test_a_closed_prefetch_stops_reading_and_closes_its_stream() -> None:
    done = threading.Event()
    source = Prefetch(stream([transaction(4, 1)], None, done), depth=3)
    first = source.batch(max_changes=500, wait_s=10)
    assert first[0].position == {"log_file": "binlog.000001", "log_pos": 4}
    assert all(t.position is None for t in first[1:]), "then heartbeats only"
    assert not done.is_set()
    source.close()
    assert done.wait(10), "the reader left its stream and closed it"
