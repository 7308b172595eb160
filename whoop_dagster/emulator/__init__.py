"""An emulator of the WHOOP developer API v2 on 127.0.0.1, for the demo, tests and benchmarks.

The real client code talks real HTTP to it, with zero credentials::

    from whoop_dagster.emulator import EmulatorConfig, run_emulator

    with run_emulator(EmulatorConfig(seed=7, days=730), port=0) as emu:
        refresh_token = emu.issue_refresh_token()
        ...  # point the client at emu.api_base_url / emu.oauth_base_url

Modules: ``config`` (``EmulatorConfig``; ``RecoveryEffects`` plants behaviour effects on recovery),
``data`` (synthetic physiology, the generative model and ``RECOVERY_NOISE_SD``),
``records`` (records over time, the truth), ``oauth``, ``ratelimit``, ``faults``,
``paging``, ``api`` (request handling), ``server`` (HTTP), ``emulator`` (assembly).
"""

from whoop_dagster.emulator.config import NO_BEHAVIOUR_EFFECTS, EmulatorConfig, RecoveryEffects
from whoop_dagster.emulator.data import RECOVERY_NOISE_SD, RecoveryDrivers
from whoop_dagster.emulator.emulator import Emulator, EmulatorError, run_emulator, serve
from whoop_dagster.emulator.faults import FAULT_KINDS
from whoop_dagster.emulator.stats import RequestLogEntry

__all__ = [
    "FAULT_KINDS",
    "NO_BEHAVIOUR_EFFECTS",
    "RECOVERY_NOISE_SD",
    "Emulator",
    "EmulatorConfig",
    "EmulatorError",
    "RecoveryDrivers",
    "RecoveryEffects",
    "RequestLogEntry",
    "run_emulator",
    "serve",
]
