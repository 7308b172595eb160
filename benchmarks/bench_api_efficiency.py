"""Benchmark 1: WHOOP API requests made vs the fewest possible.

Against a 730-day emulator (unthrottled, clock frozen), in child processes:

1. a full-history backfill of the four collections as one run (join date … today),
   then the two single-object assets;
2. the four cursor sensors: a first tick (empty cursor), an idle tick, then the
   emulator clock moves forward a day and a tick finds the new records; then the
   runs that tick requested.

Requests are counted from the emulator's request log (data paths only, every one:
page reads, by-id reads, re-sends). The minimum for a collection read is
ceil(records / 25) pages (one for an empty answer), records being what the API
returns for the window asked; single objects cost one request each.

    python benchmarks/bench_api_efficiency.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from benchlib import (
    COLLECTIONS,
    WORKLOADS,
    Section,
    api_env,
    benchmark_parser,
    by_endpoint,
    data_requests,
    data_statuses,
    day_start,
    emulator,
    full_history,
    log,
    min_requests,
    publish,
    python_command,
    run_measured,
    table,
    window_counts,
    window_records,
    workspace,
)

LOOKBACK_DAYS = 7  # the sensors' default (WHOOP_SENSOR_LOOKBACK_DAYS)
ADVANCE_HOURS = 24
# Access tokens expire on the emulator's clock; jumping it a day would turn the first request
# after the jump into a 401 + re-send that no real deployment sees (its token manager refreshes
# ahead of expiry on the real clock). Tokens that outlive the jump keep that artifact out.
TOKEN_TTL_S = 14 * 86_400


def _slice(emu: Any, phase: dict[str, str]) -> Counter:
    since, until = datetime.fromisoformat(phase["start"]), datetime.fromisoformat(phase["end"])
    return by_endpoint(data_requests(emu.request_log, since, until))


def _ratio(made: int, minimum: int) -> str:
    return f"{made / minimum:.2f}x" if minimum else "-"


def _parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def _high_water(cursor: str | None) -> datetime | None:
    if not cursor:
        return None
    value = json.loads(cursor).get("updated_at_high_water")
    return _parse_ts(value) if value else None


def backfill_rows(emu: Any, ws: Any, env: dict[str, str]) -> tuple[list[list[Any]], dict[str, Any]]:
    first, last = full_history(emu)
    window = (day_start(first), day_start(last + timedelta(days=1)))
    counts = window_counts(emu, *window)
    out = ws.root / "backfill.json"
    log(f"api efficiency: full-history backfill {first}...{last} ({sum(counts.values())} records)")
    command = python_command(WORKLOADS, "--out", str(out), "backfill", "--first", str(first), "--last", str(last))
    run_measured([*command, "--objects"], env).check()
    report = json.loads(out.read_text())
    made = _slice(emu, report["phases"]["collections"])
    rows: list[list[Any]] = []
    for name in COLLECTIONS:
        extra = made.get("sleep by id", 0) if name == "recovery" else 0
        requests = made.get(name, 0) + extra
        note = f"incl. {extra} sleep-by-id reads" if extra else ""
        rows.append([f"backfill `raw/{name}`", counts[name], min_requests(counts[name]), requests, note])
    total_min = sum(min_requests(n) for n in counts.values())
    total = sum(made.values())
    rows.append(["**backfill, 4 collections**", sum(counts.values()), total_min, total, ""])
    objects = _slice(emu, report["phases"]["objects"])
    object_total = sum(objects.values())
    detail = ", ".join(f"{k} {v}" for k, v in sorted(objects.items()))
    rows.append(["`raw/user_profile` + `raw/body_measurement`", 2, 2, object_total, f"{detail}"])
    facts = {"window": f"{first}...{last}", "backfill_ratio": total / total_min, "objects": object_total}
    return rows, facts


def sensor_rows(emu: Any, ws: Any, env: dict[str, str]) -> tuple[list[list[Any]], dict[str, Any]]:
    # Sensors window on the real clock: [now - lookback, the emulator's now).
    before = window_counts(emu, datetime.now(timezone.utc) - timedelta(days=LOOKBACK_DAYS), None)
    out = ws.root / "sensors.json"
    log("api efficiency: sensor ticks (first, idle, after a day of new records) and the runs they request")
    command = python_command(
        WORKLOADS,
        "--out",
        str(out),
        "sensor-session",
        "--emulator-base-url",
        emu.base_url,
        "--advance-seconds",
        str(ADVANCE_HOURS * 3600),
    )
    run_measured(command, env).check()
    report = json.loads(out.read_text())
    tick_time = datetime.fromisoformat(report["tick_time"])
    after = window_counts(emu, tick_time - timedelta(days=LOOKBACK_DAYS), None)
    rows: list[list[Any]] = []
    facts: dict[str, Any] = {}
    for phase, label, counts in (
        ("first_tick", "first tick (empty cursor), 4 sensors", before),
        ("idle_tick", "idle tick, 4 sensors", before),
        ("tick_after_new_records", f"tick after the clock moved {ADVANCE_HOURS} h, 4 sensors", after),
    ):
        made = _slice(emu, report["phases"][phase])
        minimum = sum(min_requests(counts[name]) for name in COLLECTIONS)
        by_id = made.get("sleep by id", 0)
        note = _breakdown(made)
        changed = ""
        if phase == "tick_after_new_records":
            k = _changed_since(emu, report["ticks"]["idle_tick"], tick_time)
            facts["k"] = k
            changed = " (k = " + ", ".join(f"{n} {name}" for name, n in k.items()) + " new/updated records)"
        rows.append([label + changed, sum(counts.values()), minimum, sum(made.values()), note])
        facts[phase] = (sum(made.values()), minimum, by_id)
        recovery = report["ticks"][phase]["recovery"]
        facts[f"{phase}_recovery"] = _slice(emu, recovery) if "start" in recovery else Counter()
    made = _slice(emu, report["phases"]["requested_runs"])
    run_min = 0
    run_records = 0
    for run in report["runs"]:
        name = run["assets"][0].split("/", 1)[1]
        first = datetime.fromisoformat(run["first"]).date()
        last = datetime.fromisoformat(run["last"]).date()
        n = len(window_records(emu, name, day_start(first), day_start(last + timedelta(days=1))))
        run_records += n
        run_min += min_requests(n)
    by_id = made.get("sleep by id", 0)
    facts["runs_breakdown"] = _breakdown(made)
    ranges = "; ".join(f"{r['assets'][0]} {r['first']}...{r['last']}" for r in report["runs"])
    rows.append(
        [
            f"the {len(report['runs'])} runs that tick requested ({ranges})",
            run_records,
            run_min,
            sum(made.values()),
            _breakdown(made),
        ]
    )
    facts["runs"] = (sum(made.values()), run_min, all(r["success"] for r in report["runs"]))
    return rows, facts


def _breakdown(made: Counter) -> str:
    """``cycle 1, sleep 1, recovery 1, sleep by id 3`` in registry order."""
    order = [*COLLECTIONS, "sleep by id"]
    names = sorted(made, key=lambda n: (order.index(n) if n in order else len(order), n))
    return ", ".join(f"{name} {made[name]}" for name in names)


def _changed_since(emu: Any, idle_tick: dict[str, Any], tick_time: datetime) -> dict[str, int]:
    """Records in the tick's window updated after each sensor's cursor (from the emulator's truth)."""
    k = {}
    for name in COLLECTIONS:
        high_water = _high_water(idle_tick[name]["cursor"])
        records = window_records(emu, name, tick_time - timedelta(days=LOOKBACK_DAYS))
        k[name] = sum(1 for r in records if high_water is None or _parse_ts(r["updated_at"]) > high_water)
    return k


def measure() -> Section:
    section = Section("api_efficiency", "1. API efficiency: requests made vs the minimum")
    with emulator(days=730, access_token_ttl_s=TOKEN_TTL_S) as emu, workspace("api") as ws:
        env = api_env(emu, ws)
        backfill, facts = backfill_rows(emu, ws, env)
        sensors, tick_facts = sensor_rows(emu, ws, env)
        emu_log = emu.request_log
    statuses = data_statuses(emu_log)
    facts["statuses"] = dict(statuses)
    headers = ["what", "records returned", "minimum requests", "requests made", "ratio", "note"]
    rows = [
        [what, records, minimum, made, _ratio(made, minimum), note]
        for what, records, minimum, made, note in backfill + sensors
    ]
    section.add(
        "Emulator: 730 days of history, seed 7, clock frozen 30 h before real time, no throttling. "
        "Requests counted from the emulator's log (data paths only, every request). Minimum = "
        "ceil(records / 25) per paginated read (1 for an empty one); records = what the API returns "
        f"for the window asked (backfill window: {facts['window']}). Sensors read the last "
        f"{LOOKBACK_DAYS} days on each tick.",
        table(headers, rows),
        _findings(facts, tick_facts),
    )
    idle, idle_min, _ = tick_facts["idle_tick"]
    after, after_min, _ = tick_facts["tick_after_new_records"]
    section.headlines.append(
        f"full-history backfill {facts['backfill_ratio']:.2f}x the minimum requests; idle sensor tick "
        f"{idle}/{idle_min}; tick after {sum(tick_facts['k'].values())} new/updated records {after}/{after_min} "
        f"({after / after_min:.2f}x)"
    )
    return section


def _findings(facts: dict[str, Any], ticks: dict[str, Any]) -> str:
    lines = ["**Reading the table**", ""]
    lines.append(
        f"- Full-history backfill: {facts['backfill_ratio']:.2f}x the minimum "
        + ("(goal 1.00x met)." if facts["backfill_ratio"] <= 1.0 else "(goal 1.00x missed).")
    )
    if facts["objects"] > 2:
        lines.append(
            f"- Profile + body measurement: {facts['objects']} requests for 2 objects: the body measurement asset "
            "opens its own client, which reads the profile again to learn the `user_id` "
            "(`WhoopClient._member_user_id`)."
        )
    for phase, label in (
        ("first_tick", "First tick"),
        ("idle_tick", "Idle tick"),
        ("tick_after_new_records", "Tick after new records"),
    ):
        made, minimum, _ = ticks[phase]
        verdict = "at the minimum" if made <= minimum else f"{made - minimum} over the minimum"
        recovery = ticks.get(f"{phase}_recovery", Counter())
        lookups = sum(n for name, n in recovery.items() if name.startswith("sleep"))
        cause = ""
        if lookups:
            cause = (
                f"; `recovery_sensor` made {lookups} of them ({_breakdown(recovery)}): recoveries carry no `start`, "
                "so placing new ones in their sleep's partition costs a sleep lookup (a page of sleeps when "
                "several are new, a read by id for one) that the minimum does not count"
            )
        lines.append(f"- {label}: {made} requests for a minimum of {minimum} ({verdict}{cause}).")
    made, minimum, success = ticks["runs"]
    verdict = "at the minimum" if made <= minimum else f"{made - minimum} over the minimum"
    lines.append(
        f"- Runs requested by that tick: {made} requests for a minimum of {minimum} ({verdict}); "
        f"{'all succeeded' if success else 'SOME FAILED'}."
    )
    statuses = facts["statuses"]
    if set(statuses) == {200}:
        lines.append(f"- All {statuses[200]} data requests were answered 200 (no re-sends after errors).")
    else:
        lines.append(f"- Data request statuses: {statuses} (re-sends after these are counted above).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    benchmark_parser(__doc__).parse_args(argv)
    return publish(measure())


if __name__ == "__main__":
    sys.exit(main())
