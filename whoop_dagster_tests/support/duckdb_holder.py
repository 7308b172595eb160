"""Another process holding a DuckDB file, as a notebook or a DuckDB CLI would: a writer or a reader."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: In the holder's command line, so that a test can check the error names that very process.
HOLDER_MARKER = "whoop-test-duckdb-holder"

_HOLD = """
import sys
import duckdb

path, mode = sys.argv[1], sys.argv[2]
connection = duckdb.connect(path, read_only=mode == "read_only")
if mode == "writer_with_rows":
    connection.execute("create schema if not exists raw")
    connection.execute("create table if not exists raw.sentinel as select 42 as answer")
print("holding", flush=True)
sys.stdin.read()  # until the test closes our stdin
connection.close()
"""


class Holder:
    """The holding process; :meth:`release` makes it close its connection and exit."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    def release(self) -> None:
        """Close the holder's connection (it exits); idempotent."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        self.process.wait(timeout=60)


@contextmanager
def duckdb_held(path: Path, mode: str = "writer") -> Iterator[Holder]:
    """``path`` held by another process in ``mode`` (``writer``, ``read_only``, or ``writer_with_rows``).

    ``writer_with_rows`` first writes ``raw.sentinel`` (one row), so a test can tell a file nobody
    else wrote to. The file must exist for ``read_only``.
    """
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path), mode, HOLDER_MARKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    holder = Holder(process)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "holding", "the holder could not open the DuckDB file"
        yield holder
    finally:
        try:
            holder.release()
        except subprocess.TimeoutExpired:
            process.kill()  # ours, by its handle
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
