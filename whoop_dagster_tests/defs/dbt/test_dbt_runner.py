"""The dbt tests' own runner: real dbt in the test process, leaving nothing held behind it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from whoop_dagster_tests.defs.dbt.conftest import duckdb_env
from whoop_dagster_tests.defs.dbt.dbt_runner import DbtFailedError, run_dbt, run_results


def test_after_a_run_another_process_can_write_the_file(raw_duckdb: Path, tmp_path: Path):
    env = duckdb_env(raw_duckdb)
    run_dbt(["run", "--select", "stg_cycle"], target="local", target_path=tmp_path / "target", env=env)

    assert set(run_results(tmp_path / "target").values()) == {"success"}
    # DuckDB lets one process write a file; dbt-duckdb keeps its database open after a command.
    write = f"import duckdb; duckdb.connect({str(raw_duckdb)!r}).execute('create table probe (x int)')"
    writer = subprocess.run(
        [sys.executable, "-c", write],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert writer.returncode == 0, writer.stderr[-2000:]


def test_a_failing_command_raises_with_dbts_own_output(raw_duckdb: Path, tmp_path: Path):
    env = duckdb_env(raw_duckdb)
    with pytest.raises(DbtFailedError, match="no_such_macro") as failure:
        run_dbt(["run-operation", "no_such_macro"], target="local", target_path=tmp_path / "target", env=env)

    assert "failed (" in str(failure.value)


def test_a_second_run_on_another_file_reuses_the_parse(raw_duckdb: Path, tmp_path: Path):
    other = tmp_path / "other" / "whoop.duckdb"
    other.parent.mkdir()
    other.write_bytes(raw_duckdb.read_bytes())
    for number, path in enumerate((raw_duckdb, other)):
        target = tmp_path / f"target{number}"
        run_dbt(["run", "--select", "stg_sleep"], target="local", target_path=target, env=duckdb_env(path))
        assert set(run_results(target).values()) == {"success"}
    # Only a parse writes dbt's saved parse state: the second run parsed nothing.
    assert not (tmp_path / "target1" / "partial_parse.msgpack").exists()
