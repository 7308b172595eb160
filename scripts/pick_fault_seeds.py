"""Pick the fault campaign's seeds for the normal suite (``SUITE_SEEDS`` in ``faults/test_campaign.py``).

Among seeds 0…999: one seed for each heavy episode kind that the suite runs (a child process
SIGKILLed in extraction, one between a delete and its insert, a sensor tick next to a backfill
whose run fails for good), then the cheapest seeds that add fault kinds not yet planned, then
the cheapest seeds of two or more faulty runs, up to 20. None with the kills inside dbt or the
ML write (``make faults`` runs those). Cost is an estimate of the client's own waits (429
margins, backoffs, slow pages) plus one unit per run.

    python scripts/pick_fault_seeds.py
"""

from __future__ import annotations

from whoop_dagster_tests.faults.campaign_plan import (
    DOWNSTREAM_FAULTS,
    FAULT_KINDS,
    HEAVY,
    PROCESS_FAULTS,
    plan_for_seed,
)

COUNT = 20
_WAIT = {
    "429_burst": 1.0,
    "429_storm": 3.0,
    "5xx_transient": 0.8,
    "5xx_persistent": 1.0,
    "slow_page": 1.2,
    "truncated_page": 0.8,
    "malformed_page": 0.8,
    "malformed_persistent": 1.5,
    "rotation_race": 0.5,
}


def cost(seed: int) -> float:
    total = 1.0  # the plain re-run
    for episode in plan_for_seed(seed):
        total += 4.0 if episode.mode in HEAVY else 1.0
        total += sum(_WAIT.get(fault["kind"], 0.0) * fault.get("times", 1) for fault in episode.faults)
    return total


def kinds(seed: int) -> set[str]:
    return {kind for episode in plan_for_seed(seed) for kind in episode.kinds}


def heavy(seed: int) -> list[str]:
    return [episode.mode for episode in plan_for_seed(seed) if episode.mode in HEAVY]


def main() -> None:
    candidates = sorted(range(1000), key=cost)
    picked: list[int] = []
    for mode in PROCESS_FAULTS:  # exactly one heavy episode each, in a seed with nothing else heavy
        # The sensor's seed: its run fails for good, so the next tick must load the days again.
        need = {"5xx_persistent"} if mode == "sensor_tick_with_backfill" else set()
        picked.append(next(s for s in candidates if heavy(s) == [mode] and need <= kinds(s)))
    light = [s for s in candidates if not heavy(s)]
    wanted = set(FAULT_KINDS) - set(DOWNSTREAM_FAULTS)
    while wanted - set().union(*map(kinds, picked)):
        missing = wanted - set().union(*map(kinds, picked))
        picked.append(next(s for s in light if s not in picked and kinds(s) & missing))
    sequences = [s for s in light if s not in picked and len(plan_for_seed(s)) > 1]  # faults one after another
    picked += sequences[: COUNT - len(picked)]
    print(f"SUITE_SEEDS = {tuple(sorted(picked))}  # estimated cost {sum(map(cost, picked)):.0f}")


if __name__ == "__main__":
    main()
