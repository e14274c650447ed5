"""The relay's saved position (a file written then renamed) and the per-database SQLite
positions, valid only for the database identity they were read from."""

import json
from pathlib import Path

from services.cdc.checkpoint import Checkpoint
from services.cdc.relay import SqlitePositions


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


def test_another_database_under_the_same_name_is_read_from_its_start() -> None:
    positions = SqlitePositions({"reservas": {"id": "A", "seq": 41}})
    positions.bind("reservas", "B")  # the file was replaced: its seqs mean something else
    assert positions.seq("reservas") == 0
    assert positions.saved() == {"reservas": {"id": "B", "seq": 0}}


def test_a_database_seen_for_the_first_time_starts_at_zero() -> None:
    positions = SqlitePositions({})
    positions.bind("pagos", "P")
    assert positions.seq("pagos") == 0
