"""Benchmark 12: the whole graph against the same work without an orchestrator.

Side by side, in interleaved rounds, against one 730-day emulator (unthrottled, so neither side
waits for WHOOP's rate limit; any pause either side logs is still subtracted):

(a) the project's main job: ``whoop-dagster demo --days 730`` (raw loads as one single-run backfill,
    ``dbt build`` through dagster-dbt, the ML and analysis assets) on the persistent instance of
    the project's ``config/dagster.yaml``, a fresh DAGSTER_HOME and DuckDB file;
(b) the un-orchestrated peer, three processes one after the other:
    1. dlt's REST API source loading the four collections into DuckDB
       (``python benchmarks/workloads.py dlt-load``, as in the dlt comparison);
    2. a plain ``dbt build --target local`` of the project;
    3. the ML and analysis fits as a plain Python script (``python benchmarks/workloads.py ml-script``).

dlt's tables have dlt's shape (flattened records), not the ``raw`` schema the dbt sources read,
so the peer's ``dbt build`` runs on a copy of a warehouse whose ``raw`` tables the project loaded
once before the rounds (the same rows); the peer's load is timed by dlt's process. (b) is the sum
of the three processes' wall (and CPU) times.

    python benchmarks/bench_peer.py [--days 730] [--repeat 2]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from typing import Any

from benchlib import (
    REPO,
    WORKLOADS,
    Measured,
    Section,
    api_env,
    benchmark_parser,
    clean_env,
    emulator,
    full_history,
    log,
    median,
    publish,
    python_command,
    run_measured,
    run_output,
    table,
    tool,
    workspace,
)

RATE_LIMIT_PAUSE = re.compile(r"(?:pausing|waiting) ([\d.]+) s (?:until it resets|before trying again)")
GOAL = 1.5
TOKEN_TTL_S = 14 * 86_400


@dataclass
class GraphAttempt:
    round: int
    measured: Measured
    pauses_s: float
    load: float


@dataclass
class PeerAttempt:
    round: int
    dlt: Measured
    dbt: Measured
    ml: Measured
    load: float
    rows: dict[str, Any]

    @property
    def wall_s(self) -> float:
        return self.dlt.wall_s + self.dbt.wall_s + self.ml.wall_s

    @property
    def cpu_s(self) -> float:
        return self.dlt.cpu_s + self.dbt.cpu_s + self.ml.cpu_s


def _graph(emu: Any, days: int, round_: int) -> GraphAttempt:
    with workspace("peer-graph") as ws:
        load = os.getloadavg()[0]
        log(f"peer: (a) whoop-dagster demo --days {days} (round {round_ + 1}, load {load:.2f})")
        measured = run_measured(
            [tool("whoop-dagster"), "demo", "--days", str(days)], api_env(emu, ws), sample_tree=True
        ).check()
        pauses = sum(float(m) for m in RATE_LIMIT_PAUSE.findall(run_output(measured)))
        return GraphAttempt(round_, measured, pauses, load)


def _peer(emu: Any, raw_duckdb: Any, round_: int) -> PeerAttempt:
    first, _ = full_history(emu)
    with workspace("peer-plain") as ws:
        load = os.getloadavg()[0]
        log(f"peer: (b) dlt + dbt build + ML script (round {round_ + 1}, load {load:.2f})")
        dlt_dir = ws.root / "dlt"
        dlt_dir.mkdir()
        token_file = dlt_dir / "access_token"
        token_file.write_text(emu.grant_tokens()["access_token"])
        dlt_env = clean_env(DLT_DATA_DIR=str(dlt_dir / "data"), RUNTIME__DLTHUB_TELEMETRY="false")
        dlt_db = dlt_dir / "whoop_dlt.duckdb"
        out = ws.root / "dlt.json"
        dlt = run_measured(
            python_command(
                WORKLOADS,
                "--out",
                str(out),
                "dlt-load",
                "--api-base-url",
                emu.api_base_url,
                "--access-token-file",
                str(token_file),
                "--start",
                f"{first.isoformat()}T00:00:00.000Z",
                "--duckdb",
                str(dlt_db),
                "--pipelines-dir",
                str(dlt_dir / "pipelines"),
            ),
            dlt_env,
        ).check()
        rows = json.loads(out.read_text()).get("rows_loaded", {})
        shutil.copy(raw_duckdb, ws.duckdb_path)
        target = ws.root / "dbt_target"
        target.mkdir()
        partial_parse = REPO / "whoop_dbt" / "target" / "partial_parse.msgpack"
        if partial_parse.exists():
            shutil.copy(partial_parse, target / partial_parse.name)
        env = ws.env(WHOOP_DEPLOYMENT="local", DBT_TARGET_PATH=str(target), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        dbt = run_measured([tool("dbt"), "build", "--target", "local"], env, cwd=REPO / "whoop_dbt").check()
        ml = run_measured(
            python_command(WORKLOADS, "--out", str(ws.root / "ml.json"), "ml-script", "--duckdb", str(ws.duckdb_path)),
            env,
        ).check()
        return PeerAttempt(round_, dlt, dbt, ml, load, rows)


def _load_raw(emu: Any, seed: Any) -> None:
    first, last = full_history(emu)
    command = python_command(
        WORKLOADS,
        "--out",
        str(seed.root / "backfill.json"),
        "backfill",
        "--first",
        str(first),
        "--last",
        str(last),
        "--objects",
    )
    run_measured(command, api_env(emu, seed)).check()


def measure(days: int = 730, repeat: int = 2) -> Section:
    section = Section("peer", "12. Whole graph vs its un-orchestrated peer (dlt + plain dbt build + ML script)")
    graphs: list[GraphAttempt] = []
    peers: list[PeerAttempt] = []
    with emulator(days=days, access_token_ttl_s=TOKEN_TTL_S) as emu, workspace("peer-seed") as seed:
        log("peer: loading the raw tables once for the peer's dbt build")
        _load_raw(emu, seed)
        for round_ in range(repeat):
            if round_ % 2 == 0:
                graphs.append(_graph(emu, days, round_))
                peers.append(_peer(emu, seed.duckdb_path, round_))
            else:
                peers.append(_peer(emu, seed.duckdb_path, round_))
                graphs.append(_graph(emu, days, round_))

    graph_wall = median(g.measured.wall_s for g in graphs)
    graph_net = median(g.measured.wall_s - g.pauses_s for g in graphs)
    graph_cpu = median(g.measured.cpu_s for g in graphs)
    peer_wall = median(p.wall_s for p in peers)
    peer_cpu = median(p.cpu_s for p in peers)
    ratio = graph_net / peer_wall
    rows = [
        [
            "(a) `whoop-dagster demo --days " + str(days) + "` (Dagster)",
            f"{graph_wall:,.1f} s",
            f"{median(g.pauses_s for g in graphs):,.1f} s",
            f"{graph_net:,.1f} s",
            f"{graph_cpu:,.1f} s",
            f"{median(g.measured.peak_tree_rss_mb for g in graphs):,.0f} MB (tree)",
            ", ".join(f"{g.measured.wall_s:,.1f}" for g in graphs),
            ", ".join(f"{g.load:.2f}" for g in graphs),
        ],
        [
            "(b) dlt load + `dbt build` + ML script",
            f"{peer_wall:,.1f} s",
            "0.0 s",
            f"{peer_wall:,.1f} s",
            f"{peer_cpu:,.1f} s",
            f"{median(max(p.dlt.peak_rss_mb, p.dbt.peak_rss_mb, p.ml.peak_rss_mb) for p in peers):,.0f} MB (largest)",
            ", ".join(f"{p.wall_s:,.1f}" for p in peers),
            ", ".join(f"{p.load:.2f}" for p in peers),
        ],
        *(
            [
                f"  (b{i}) {name}",
                f"{median(getattr(p, attr).wall_s for p in peers):,.1f} s",
                "",
                "",
                f"{median(getattr(p, attr).cpu_s for p in peers):,.1f} s",
                f"{median(getattr(p, attr).peak_rss_mb for p in peers):,.0f} MB",
                ", ".join(f"{getattr(p, attr).wall_s:,.1f}" for p in peers),
                "",
            ]
            for i, (name, attr) in enumerate(
                (("dlt REST API source → DuckDB", "dlt"), ("`dbt build`", "dbt"), ("ML script", "ml")), start=1
            )
        ),
    ]
    headers = ["side", "wall (median)", "rate-limit waits", "wall less waits", "CPU", "peak RSS", "walls, s", "load"]
    verdict = "met" if ratio <= GOAL else "not met"
    loaded = ", ".join(f"{name} {count}" for name, count in sorted(peers[0].rows.items()))
    section.add(
        f"Emulator: {days} days, seed 7, unthrottled, one instance for both sides. {repeat} rounds, the order "
        "reversed every other round; medians. CPU is user + system time of each process and the children it "
        "waited for (dbt).",
        table(headers, rows),
        "\n".join(
            [
                "**Ratio (same run)**",
                "",
                f"- (a) less its rate-limit waits over (b): **{ratio:.2f}x** (goal <= {GOAL}x: **{verdict}**); "
                f"by CPU time {graph_cpu / peer_cpu:.2f}x.",
                f"- dlt loaded {sum(peers[0].rows.values()):,} rows ({loaded}).",
                "- What (a) does that (b) does not: one run on the persistent Dagster instance (every partition's "
                "planned and materialization events, 228 dbt tests and the raw and ML checks as asset-check events), "
                "row counts and column types for every model, the raw writes in one transaction per asset with "
                "volume checks, the forecasts' backtest gates and metadata (plots), and the run's summary.",
            ]
        ),
    )
    section.headlines.append(
        f"graph {graph_net:,.0f} s (less waits) vs peer {peer_wall:,.0f} s: **{ratio:.2f}x** "
        f"(goal <= {GOAL}x: {verdict})"
    )
    return section


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    return publish(measure(args.days, args.repeat))


if __name__ == "__main__":
    sys.exit(main())
