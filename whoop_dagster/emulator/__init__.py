"""An emulator of the WHOOP developer API v2 on 127.0.0.1, for the demo, tests and benchmarks.

``with run_emulator(EmulatorConfig(seed=7), port=0) as emu:`` serves it; docs/emulator.md describes its model.
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
