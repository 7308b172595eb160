"""Run every benchmark and rewrite benchmarks/RESULTS.md (``make bench``).

Each benchmark runs in turn (they share the machine's two cores, so never in parallel);
its section is written as soon as it finishes, so an interrupted run keeps what it
measured. A benchmark that fails gets a section saying so and the others still run; the
exit code is then 1. About 40-60 minutes on 2 cores, depending on what else runs.

    python benchmarks/run_all.py [--only api_efficiency,whole_graph] [--skip fault_suite]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone

from benchlib import HEADER, RESULTS, Section, log, machine_facts, machine_line, write_section

#: (section key, module, title if it fails); the order of RESULTS.md.
BENCHMARKS: tuple[tuple[str, str, str], ...] = (
    ("api_efficiency", "bench_api_efficiency", "1. API efficiency: requests made vs the minimum"),
    (
        "backfill_strategy",
        "bench_backfill_strategy",
        "2. Backfill strategy: one run for the range vs one run per partition",
    ),
    ("definitions_load", "bench_definitions_load", "3. Definitions load time: the project vs a one-asset project"),
    ("whole_graph", "bench_whole_graph", "4. Whole graph: raw → dbt → ML for 182, 365, 730 days"),
    ("rate_limit", "bench_rate_limit", "5. Rate-limit discipline: the real 100/min limit enforced by the emulator"),
    ("dlt_comparison", "bench_dlt_comparison", "6. dlt comparison: the same load with dlt's REST API source"),
    ("fault_suite", "fault_suite", "7. Fault suite: one fault injected per scenario"),
    ("dashboard", "bench_dashboard", "8. Dashboard: query time per tab on 730 days of data"),
    ("fault_campaign", "fault_campaign", "9. Fault campaign: seeded fault sequences, then a plain re-run"),
    ("dbt_step", "bench_dbt_step", "10. dbt step: Dagster vs a plain `dbt build` of the same project and data"),
    (
        "instance_storage",
        "bench_instance_storage",
        "11. Instance storage: a single-run backfill on each storage Dagster supports",
    ),
    ("peer", "bench_peer", "12. Whole graph vs its un-orchestrated peer (dlt + plain dbt build + ML script)"),
)


def _summary(
    facts: dict[str, str], done: list[tuple[str, Section, float]], started: datetime, total_s: float
) -> Section:
    summary = Section("summary", "Summary")
    lines = [
        f"`python benchmarks/run_all.py` started {started:%Y-%m-%d %H:%M} UTC and took {total_s / 60:,.1f} min on "
        f"{machine_line(facts)}.",
        "",
        "| benchmark | result | minutes |",
        "|---|---|---|",
    ]
    for _, section, seconds in done:
        result = "<br>".join(section.headlines) or "see its section"
        lines.append(f"| [{section.title}](#{_anchor(section.title)}) | {result} | {seconds / 60:,.1f} |")
    summary.add("\n".join(lines))
    return summary


def _anchor(title: str) -> str:
    kept = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated section keys to run (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated section keys to leave out")
    args = parser.parse_args(argv)
    only = {k for k in args.only.split(",") if k}
    skip = {k for k in args.skip.split(",") if k}
    chosen = [b for b in BENCHMARKS if (not only or b[0] in only) and b[0] not in skip]
    if not chosen:
        parser.error("nothing to run")

    facts = machine_facts()
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    RESULTS.write_text(HEADER)  # a fresh file: every section below comes from this run
    done: list[tuple[str, Section, float]] = []
    failed = []
    for key, module_name, title in chosen:
        log(f"run_all: {module_name}")
        b0 = time.perf_counter()
        command = f"python benchmarks/{module_name}.py"
        try:
            measure: Callable[[], Section] = importlib.import_module(module_name).measure
            section = measure()
        except Exception:  # one broken benchmark must not cost the others' results
            failed.append(key)
            section = Section(key, title)
            section.add("**FAILED** in this run:\n\n```\n" + traceback.format_exc()[-3000:] + "\n```")
            section.headlines.append("**FAILED**")
            log(f"run_all: {module_name} FAILED")
        seconds = time.perf_counter() - b0
        write_section(section, command=command, facts=facts)
        done.append((key, section, seconds))
        write_section(
            _summary(facts, done, started, time.perf_counter() - t0),
            command="python benchmarks/run_all.py",
            facts=facts,
            top=True,
        )
    log(
        f"run_all: done in {(time.perf_counter() - t0) / 60:.1f} min"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
