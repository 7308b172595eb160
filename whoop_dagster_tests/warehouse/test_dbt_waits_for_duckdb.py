"""dbt-duckdb opens the warehouse itself: the local profile makes it retry for the project's lock bound.

Each test runs ``dbt debug`` (it opens the DuckDB file as a dbt build does) in its own process
against a file another process holds.
"""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from whoop_dagster.warehouse.duckdb_lock import LOCK_TIMEOUT_ENV
from whoop_dagster_tests.support.duckdb_holder import duckdb_held
from whoop_dagster_tests.support.processes import REPO_ROOT, user_env

#: ``dbt debug`` through dbt's Python entry point, with dbt-duckdb's retry sleep replaced: each
#: sleep reports its length and waits for the test to say "go" (after it released the holder).
DBT_DEBUG_WITH_HANDSHAKE = """
import sys
import dbt.adapters.duckdb.environments as environments
from dbt.cli.main import dbtRunner

class HandshakeTime:
    def sleep(self, seconds):
        print(f"SLEEP {seconds}", flush=True)
        sys.stdin.readline()

environments.time = HandshakeTime()
result = dbtRunner().invoke(["debug", "--target", "local", "--project-dir", sys.argv[1], "--profiles-dir", sys.argv[1]])
print("DBT-SUCCESS" if result.success else "DBT-FAILED", flush=True)
"""


def _dbt_debug(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbt.cli.main", "debug", "--target", "local"],
        cwd=REPO_ROOT / "whoop_dbt",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_dbt_retries_its_connect_and_succeeds_once_the_holder_is_gone(tmp_path):
    env = user_env(tmp_path, **{LOCK_TIMEOUT_ENV: "600"})
    path = tmp_path / "warehouse" / "whoop.duckdb"
    path.parent.mkdir()
    duckdb.connect(str(path)).close()
    with duckdb_held(path, "writer") as holder:
        dbt = subprocess.Popen(
            [sys.executable, "-c", DBT_DEBUG_WITH_HANDSHAKE, str(REPO_ROOT / "whoop_dbt")],
            cwd=REPO_ROOT / "whoop_dbt",
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert dbt.stdin is not None
        assert dbt.stdout is not None
        output = []
        for line in dbt.stdout:
            output.append(line)
            if line.startswith("SLEEP "):  # dbt met the lock and waits: now the holder goes
                holder.release()
                dbt.stdin.write("go\n")
                dbt.stdin.flush()
        dbt.wait(timeout=60)
    text = "".join(output)
    assert "SLEEP 1" in text, text[-3000:]
    assert "DBT-SUCCESS" in text, text[-3000:]


def test_dbt_gives_up_after_the_bound_naming_the_holding_process(tmp_path):
    path = tmp_path / "warehouse" / "whoop.duckdb"
    path.parent.mkdir()
    with duckdb_held(path, "writer") as holder:
        # A 3 s bound: dbt-duckdb tries at 0 s and 1 s, sleeps 2 s more and gives up.
        result = _dbt_debug(user_env(tmp_path, **{LOCK_TIMEOUT_ENV: "3"}))
    assert result.returncode != 0
    assert "Could not set lock on file" in result.stdout, result.stdout[-3000:]
    assert f"(PID {holder.pid})" in result.stdout


#: ``dbt debug`` reporting the connect attempts dbt-duckdb got from the rendered profile.
DBT_DEBUG_REPORTING_ATTEMPTS = """
import sys
import dbt.adapters.duckdb.environments as environments
from dbt.cli.main import dbtRunner

initialize_db = environments.Environment.initialize_db.__func__

def reporting(cls, creds, plugins=None):
    print(f"ATTEMPTS {creds.retries.connect_attempts}", flush=True)
    return initialize_db(cls, creds, plugins)

environments.Environment.initialize_db = classmethod(reporting)
dbtRunner().invoke(["debug", "--target", "local", "--project-dir", sys.argv[1], "--profiles-dir", sys.argv[1]])
"""


@pytest.mark.parametrize(("bound", "attempts"), [("0", 1), ("3", 2), ("600", 10)])
def test_the_profile_turns_the_bound_into_enough_connect_attempts(tmp_path, bound, attempts):
    """Attempts at 0, 1, 3, 7, … s: the last one within the bound, giving up before twice the bound."""
    (tmp_path / "warehouse").mkdir()  # dbt-duckdb retries every DuckDB I/O error, a missing folder too
    result = subprocess.run(
        [sys.executable, "-c", DBT_DEBUG_REPORTING_ATTEMPTS, str(REPO_ROOT / "whoop_dbt")],
        cwd=REPO_ROOT / "whoop_dbt",
        env=user_env(tmp_path, **{LOCK_TIMEOUT_ENV: bound}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert f"ATTEMPTS {attempts}\n" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]
