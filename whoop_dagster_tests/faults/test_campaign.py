"""The seeded fault campaign: a fixed 20-seed subset in every ``make test``, any number with ``make faults``.

``make faults SEEDS=200`` plays seeds 0…199 (``WHOOP_FAULT_SEEDS``); ``make faults SEED=17``
replays one (``WHOOP_FAULT_SEED``), exactly: a seed's faults are a pure function of it. A
failing seed's message is its fault sequence, the replay command and every problem found.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from whoop_dagster_tests.faults.campaign import CampaignWorld, run_seed
from whoop_dagster_tests.faults.campaign_plan import DOWNSTREAM_FAULTS, FAULT_KINDS, HEAVY, plan_for_seed
from whoop_dagster_tests.faults.campaign_summary import publish

#: The normal suite's seeds: between them they plan every fault kind but the kills inside dbt and
#: the ML write (their seeds build the marts: ``make faults``), with few child processes that
#: import Dagster. Chosen once by ``scripts/pick_fault_seeds.py``; fixed so every run replays them.
SUITE_SEEDS = (0, 2, 9, 21, 25, 33, 36, 48, 52, 59, 65, 74, 110, 150, 158, 286, 397, 546, 623, 949)
#: At most this many heavy episodes (a child process importing Dagster) among them.
SUITE_HEAVY_EPISODES = 3


def campaign_seeds() -> list[int]:
    """``WHOOP_FAULT_SEED`` alone, else seeds 0…``WHOOP_FAULT_SEEDS``-1, else the suite's."""
    if os.getenv("WHOOP_FAULT_SEED", "").strip():
        return [int(os.environ["WHOOP_FAULT_SEED"])]
    if os.getenv("WHOOP_FAULT_SEEDS", "").strip():
        return list(range(int(os.environ["WHOOP_FAULT_SEEDS"])))
    return list(SUITE_SEEDS)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> CampaignWorld:
    """This worker's clean warehouse and sensor cursors, shared by its seeds (each copies them)."""
    return CampaignWorld(tmp_path_factory.mktemp("campaign"))


@pytest.mark.parametrize("seed", campaign_seeds())
def test_a_seeded_fault_sequence_converges_after_a_plain_rerun(seed: int, world: CampaignWorld, tmp_path: Path):
    report = run_seed(seed, world, tmp_path)
    publish(report.to_dict())
    assert not report.problems, report.failure_text()


def test_the_suite_seeds_plan_every_fault_kind_with_few_heavy_runs():
    planned = Counter(kind for seed in SUITE_SEEDS for episode in plan_for_seed(seed) for kind in episode.kinds)
    heavy = sum(1 for seed in SUITE_SEEDS for episode in plan_for_seed(seed) if episode.mode in HEAVY)
    assert set(FAULT_KINDS) - set(DOWNSTREAM_FAULTS) <= set(planned), planned
    assert heavy <= SUITE_HEAVY_EPISODES, heavy
