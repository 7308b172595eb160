"""The seeded fault campaign's plans: per seed, a random but exactly reproducible sequence of faulty runs.

A plan is a pure function of the seed (``plan_for_seed``): replaying a seed replays its
faults, their order, the days and endpoints each run loads and the request each fault hits.
No Dagster import here: the plan is printed, counted and chosen without running anything.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from typing import Any

COLLECTIONS = ("cycle", "sleep", "recovery", "workout")
OBJECTS = ("user_profile", "body_measurement")

#: Faults the emulator injects into one request (or a run of them) of an in-process run.
API_FAULTS = (
    "429_burst",
    "429_storm",
    "5xx_transient",
    "5xx_persistent",
    "slow_page",
    "truncated_page",
    "malformed_page",
    "malformed_persistent",
)
#: Faults of the OAuth side, hung on the Nth data request of the run.
TOKEN_FAULTS = ("expired_access_token", "rotation_race")
#: Another process holds the DuckDB file (read-only) while the run writes.
LOCK_FAULTS = ("reader_holds_duckdb",)
#: Runs in a child process that is SIGKILLed (or runs next to another one).
PROCESS_FAULTS = ("kill_in_extraction", "kill_between_delete_and_insert", "sensor_tick_with_backfill")
#: Kills in the steps after the raw loads (need dbt's marts: the heaviest episodes).
DOWNSTREAM_FAULTS = ("kill_inside_dbt", "kill_inside_ml_write")

FAULT_KINDS = (*API_FAULTS, *TOKEN_FAULTS, *LOCK_FAULTS, *PROCESS_FAULTS, *DOWNSTREAM_FAULTS)
#: Faults after which the run must fail (clearly, without touching the rows it had).
PERSISTENT = ("429_storm", "5xx_persistent", "malformed_persistent")
#: Episodes that start a child process importing Dagster (the expensive ones).
HEAVY = (*PROCESS_FAULTS, *DOWNSTREAM_FAULTS)

#: Records per page (one a day per collection, roughly): longer ranges take a second page.
PAGE_SIZE = 25
#: Days the lab's warehouse holds, counted back from the tests' instant (today is day 0).
LAB_DAYS = 28

#: How an episode is run, by its main fault; everything else is an in-process raw run.
_MODE_WEIGHTS = {
    "in_process": 70,
    "kill_in_extraction": 8,
    "kill_between_delete_and_insert": 8,
    "sensor_tick_with_backfill": 8,
    "kill_inside_dbt": 3,
    "kill_inside_ml_write": 3,
}
_LENGTHS = (1, 1, 2, 3, 4, 5, 7, 10, LAB_DAYS)


@dataclass
class Episode:
    """One run (or two at once) over ``days_ago_last``…``days_ago_first`` with its faults.

    ``faults`` are ``{"kind": ..., **parameters}`` dicts; ``mode`` is ``in_process`` or the
    heavy fault that shapes the episode.
    """

    mode: str
    days_ago_first: int
    days: int
    endpoints: tuple[str, ...]
    faults: list[dict[str, Any]] = field(default_factory=list)

    @property
    def days_ago_last(self) -> int:
        return self.days_ago_first - self.days + 1

    @property
    def kinds(self) -> list[str]:
        return [fault["kind"] for fault in self.faults]

    def describe(self) -> str:
        faults = "; ".join(
            fault["kind"] + "".join(f" {k}={v}" for k, v in fault.items() if k != "kind") for fault in self.faults
        )
        return (
            f"{self.mode}: days -{self.days_ago_first}..-{self.days_ago_last}, "
            f"{','.join(self.endpoints)}; faults: {faults or 'none'}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "endpoints": list(self.endpoints)}


def plan_for_seed(seed: int) -> list[Episode]:
    """The seed's episodes: one to three faulty runs, in order (pure: the same seed, the same plan)."""
    rng = random.Random(f"whoop-fault-campaign:{seed}")
    return [_episode(rng) for _ in range(rng.choice((1, 1, 2, 2, 3)))]


def _episode(rng: random.Random) -> Episode:
    mode = rng.choices(list(_MODE_WEIGHTS), weights=list(_MODE_WEIGHTS.values()))[0]
    days = rng.choice(_LENGTHS)
    first = rng.randint(days - 1, LAB_DAYS - 1)
    endpoints = tuple(e for e in COLLECTIONS if rng.random() < 0.5) or (rng.choice(COLLECTIONS),)
    if rng.random() < 0.2:
        endpoints += OBJECTS
    episode = Episode(mode, first, days, endpoints)
    if mode == "in_process":
        if rng.random() < 0.85:
            episode.faults.append(_api_fault(rng, rng.choice(API_FAULTS), endpoints, days))
        if rng.random() < 0.35 or not episode.faults:
            episode.faults.append({"kind": rng.choice(TOKEN_FAULTS), "at_request": rng.randint(1, 2)})
        if rng.random() < 0.15:
            episode.faults.append({"kind": "reader_holds_duckdb", "held": rng.choice(("briefly", "throughout"))})
        return episode
    heavy: dict[str, Any] = {"kind": mode}
    if mode == "kill_in_extraction":
        heavy["at_request"] = rng.randint(1, len(endpoints))  # each endpoint asks at least once
    elif mode == "kill_between_delete_and_insert":
        heavy["victim"] = rng.choice(endpoints)
    elif mode == "sensor_tick_with_backfill":
        heavy["sensor"] = rng.choice(COLLECTIONS)
        heavy["rescored"] = rng.randint(1, 3)
    elif mode == "kill_inside_dbt":
        heavy["after_models"] = rng.randint(1, 250)  # of ~265 models, tests, seeds and snapshots
    elif mode == "kill_inside_ml_write":
        heavy["victim"] = rng.choice(("recovery_forecast", "recovery_anomalies", "sleep_performance_forecast"))
    episode.faults.append(heavy)
    if mode in PROCESS_FAULTS and rng.random() < 0.3:
        # The sensor's run may fail for good: the next tick must load its days again.
        persistent = ("5xx_persistent",) if mode == "sensor_tick_with_backfill" else ()
        kind = rng.choice(("429_burst", "5xx_transient", "truncated_page", *persistent))
        episode.faults.append(_api_fault(rng, kind, endpoints, days))
    return episode


def _api_fault(rng: random.Random, kind: str, endpoints: tuple[str, ...], days: int) -> dict[str, Any]:
    """An API fault on one endpoint's requests: which request it hits first and how many it hits.

    A range of more than 25 days takes two pages per collection: the fault may hit the second.
    """
    fault: dict[str, Any] = {"kind": kind, "endpoint": rng.choice([e for e in endpoints if e in COLLECTIONS])}
    fault["after"] = rng.choice((0, 1)) if days > PAGE_SIZE else 0
    if kind == "429_burst":
        fault["times"] = rng.randint(1, 3)  # the client waits out 3 in a row
    elif kind == "5xx_transient":
        fault["times"], fault["status"] = rng.randint(1, 2), rng.choice((500, 502, 503))
    elif kind == "5xx_persistent":
        fault["status"] = rng.choice((500, 502, 503))
    elif kind in ("slow_page", "truncated_page", "malformed_page"):
        fault["times"] = rng.randint(1, 2)  # the client re-reads a page twice
    return fault


def render_plan(seed: int, episodes: list[Episode]) -> str:
    """The seed and its fault sequence, as a failing seed prints them (with the command that replays it)."""
    lines = [f"seed {seed}: {len(episodes)} episode(s); replay: make faults SEED={seed}"]
    lines += [f"  {i}. {episode.describe()}" for i, episode in enumerate(episodes, 1)]
    return "\n".join(lines)


def plan_json(episodes: list[Episode]) -> str:
    return json.dumps([episode.to_dict() for episode in episodes])
