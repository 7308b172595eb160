"""The code location's executor: Dagster's default one, its step processes forked from a preloaded server.

Dagster's default executor runs each step of a run in its own process, started with ``spawn``:
every step process starts Python and imports Dagster, dagster-dbt, dbt-core and this code location
again (3.5 s of CPU each here) before it does any work. With ``forkserver`` and the code location
preloaded, each run imports it once, in a server process that then forks a ready process per step.
Same executor, same run config (``in_process`` or ``multiprocess``, ``max_concurrent``, retries);
only the default start method changes, and a run that names its own ``start_method`` keeps it.
Where ``forkserver`` does not exist (Windows), steps spawn as before.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from functools import partial
from typing import Any

import dagster as dg

#: The start method step processes get unless the run config names one.
DEFAULT_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
#: What the fork server imports before it forks steps: this code location (Dagster preloads a job's
#: module only when the job was loaded from a plain module pointer, which the CLI does not use).
CODE_LOCATION_MODULES = ("whoop_dagster.definitions",)


def with_default_start_method(
    config: dict[str, Any], preload_modules: Sequence[str] = CODE_LOCATION_MODULES
) -> dict[str, Any]:
    """The run's executor config, its ``multiprocess`` part given the default start method if it names none."""
    multiprocess = config.get("multiprocess")
    if multiprocess is None or multiprocess.get("start_method"):
        return config  # in-process, or a start method the run chose
    start = (
        {"forkserver": {"preload_modules": list(preload_modules)}}
        if DEFAULT_START_METHOD == "forkserver"
        else {"spawn": {}}
    )
    return {**config, "multiprocess": {**multiprocess, "start_method": start}}


def build_executor(preload_modules: Sequence[str] = CODE_LOCATION_MODULES) -> dg.ExecutorDefinition:
    """Dagster's default ``multi_or_in_process_executor``, steps forked from a server that imported them."""
    default = dg.multi_or_in_process_executor
    return default.configured(
        partial(with_default_start_method, preload_modules=tuple(preload_modules)),
        name=default.name,
        config_schema=default.config_schema.as_field(),
        description=f"{default.description} Step processes start with `{DEFAULT_START_METHOD}` unless the run "
        "config names a start method.",
    )
