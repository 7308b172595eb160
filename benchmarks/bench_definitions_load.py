"""Benchmark 3: how long loading the code location takes, against a one-asset project.

Every case is ``dagster definitions validate -m MODULE`` in its own process (a fresh
SQLite DAGSTER_HOME, no project variables), timed as a whole process: Python start,
Dagster's CLI, importing the module, building and validating the definitions.

- ``one_asset``: a one-asset project written to a temporary directory, the floor of
  any Dagster code location on this machine;
- ``one_asset`` + one ``@dbt_assets`` over ``whoop_dbt``'s prepared manifest (plain
  ``DagsterDbtTranslator``): the price of dagster-dbt as it is meant to be used, which the
  project pays too;
- ``one_asset`` + ``import dagster_snowflake``: what a ``SnowflakeResource`` built at load
  would add (for reference: the prod warehouse resource creates it when it connects);
- ``whoop_dagster.definitions`` in local mode (no variables: DuckDB, demo mode) and in
  prod mode (``WHOOP_DEPLOYMENT=prod`` and dummy ``SNOWFLAKE_*`` / ``WHOOP_*`` values;
  loading opens no connection, so dummies are enough).

The manifest must be prepared (``make prepare``); every case reads the same one.

Cases run interleaved (round-robin) after one untimed warm-up round, so page cache and
background load affect them alike; the median of ``--repeat`` rounds is reported.
Goals: local <= 2.0x the one-asset project; prod <= 1.2x the one-asset project plus the
integrations prod truly needs (``dagster_snowflake``, which imports dagster-dbt itself). The
report also gives both against the one-asset project with its ``@dbt_assets``.

Then ``import whoop_dagster.definitions`` under ``PYTHONPROFILEIMPORTTIME=1`` in both modes: the
import time by top-level package and the heaviest single imports.

    python benchmarks/bench_definitions_load.py [--repeat 5]
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import (
    REPO,
    Measured,
    Section,
    benchmark_parser,
    log,
    median,
    publish,
    python_command,
    run_measured,
    table,
    tool,
    workspace,
)

ONE_ASSET = '''"""The smallest Dagster code location: one asset{extra_doc}."""

import dagster as dg
{imports}

@dg.asset
def one() -> int:
    return 1

{extra}
defs = dg.Definitions(assets=[one{extra_assets}]{extra_resources})
'''

#: One ``@dbt_assets`` over the project's manifest, as dagster-dbt's docs write it.
DBT_ASSETS = """
@dbt_assets(manifest={manifest!r})
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()

"""

#: Dummy values: loading the prod definitions reads these names but opens no connection.
PROD_ENV = {
    "WHOOP_DEPLOYMENT": "prod",
    "SNOWFLAKE_ACCOUNT": "bench-account",
    "SNOWFLAKE_USER": "bench_user",
    "SNOWFLAKE_PASSWORD": "bench-password",
    "SNOWFLAKE_ROLE": "BENCH_ROLE",
    "SNOWFLAKE_WAREHOUSE": "BENCH_WH",
    "SNOWFLAKE_DATABASE": "WHOOP",
    "WHOOP_CLIENT_ID": "bench-client",
    "WHOOP_CLIENT_SECRET": "bench-secret",
    "WHOOP_REFRESH_TOKEN": "bench-refresh",
}

#: Modules whose presence after the import tells what a mode pulled in.
HEAVY = (
    "dagster_dbt",
    "dbt",
    "dagster_snowflake",
    "dagster_snowflake_pandas",
    "snowflake.connector",
    "dagster_duckdb",
    "duckdb",
    "pandas",
    "sklearn",
    "matplotlib",
)


@dataclass
class Case:
    key: str
    label: str
    module: str
    directory: Path | None
    prod: bool = False


def _validate(case: Case) -> list[str]:
    command = [tool("dagster"), "definitions", "validate", "-m", case.module]
    return [*command, "-d", str(case.directory)] if case.directory else command


def _cases(tmp: Path) -> list[Case]:
    manifest = REPO / "whoop_dbt" / "target" / "manifest.json"
    if not manifest.exists():
        raise SystemExit(f"no dbt manifest at {manifest}: run `make prepare` first")
    no_extra = {"extra_doc": "", "extra": "", "extra_assets": "", "extra_resources": ""}
    variants = {
        "one_asset": {"imports": "", **no_extra},
        "one_asset_dbt": {
            "imports": "from dagster_dbt import DbtCliResource, dbt_assets",
            "extra_doc": " and one @dbt_assets",
            "extra": DBT_ASSETS.format(manifest=str(manifest)),
            "extra_assets": ", dbt_models",
            "extra_resources": f", resources={{'dbt': DbtCliResource(project_dir={str(manifest.parent.parent)!r})}}",
        },
        "one_asset_snowflake": {"imports": "import dagster_snowflake  # noqa: F401", **no_extra},
    }
    for module, parts in variants.items():
        (tmp / f"{module}.py").write_text(ONE_ASSET.format(**parts))
    return [
        Case("one", "one-asset project", "one_asset", tmp),
        Case("one_dbt", "one-asset project + one `@dbt_assets` over the manifest", "one_asset_dbt", tmp),
        Case("one_snowflake", "one-asset project + `import dagster_snowflake`", "one_asset_snowflake", tmp),
        Case("local", "`whoop_dagster.definitions`, local mode (default env)", "whoop_dagster.definitions", None),
        Case(
            "prod",
            "`whoop_dagster.definitions`, prod mode (dummy Snowflake env)",
            "whoop_dagster.definitions",
            None,
            True,
        ),
    ]


# --- import-time breakdown -------------------------------------------------------------------

_PROFILE = "PYTHONPROFILEIMPORTTIME"
_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def import_breakdown(stderr: str) -> dict[str, Any]:
    """``-X importtime`` output → self time by top-level package, and what the project's modules import.

    importtime prints a module after its imports, indented two spaces a level: a line's
    children are the lines one level deeper since the last line at its level or above.
    ``direct`` lists the imports of ``whoop_dagster`` modules that leave the package, with
    their cumulative time (a dependency shared by several importers is paid by the first).
    """
    by_package: dict[str, float] = defaultdict(float)
    modules: set[str] = set()
    total_us = 0
    pending: dict[int, list[dict[str, Any]]] = defaultdict(list)
    roots: list[dict[str, Any]] = []
    for line in stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if not match:
            continue
        self_us, cumulative_us, name = int(match[1]), int(match[2]), match[4]
        level = (len(match[3]) - 1) // 2
        total_us += self_us
        modules.add(name)
        by_package[name.split(".")[0]] += self_us / 1000
        node = {"name": name, "ms": cumulative_us / 1000, "children": pending.pop(level + 1, [])}
        (roots if level == 0 else pending[level]).append(node)
    direct: list[tuple[str, str, float]] = []

    def walk(node: dict[str, Any]) -> None:
        ours = node["name"].startswith("whoop_dagster")
        for child in node["children"]:
            if ours and not child["name"].startswith("whoop_dagster") and child["ms"] >= 1:
                direct.append((node["name"], child["name"], child["ms"]))
            walk(child)

    for root in roots:
        walk(root)
    return {"total_ms": total_us / 1000, "by_package": dict(by_package), "direct": direct, "modules": modules}


def measure(repeat: int = 5) -> Section:
    section = Section("definitions_load", "3. Definitions load time: the project vs a one-asset project")
    with workspace("defs-load") as ws, tempfile.TemporaryDirectory(prefix="whoop-bench-one-asset-") as tmp:
        cases = _cases(Path(tmp))
        envs = {case.key: ws.env(**(PROD_ENV if case.prod else {})) for case in cases}
        results: dict[str, list[Measured]] = {case.key: [] for case in cases}
        for round_ in range(repeat + 1):
            log(f"definitions load: round {round_ + 1}/{repeat + 1}" + (" (warm-up)" if round_ == 0 else ""))
            for case in cases:
                measured = run_measured(_validate(case), envs[case.key], timeout_s=300).check()
                if round_:
                    results[case.key].append(measured)
        log("definitions load: -X importtime, local and prod")
        imports = {}
        for mode, env in (("local", envs["local"]), ("prod", envs["prod"])):
            # PYTHONPROFILEIMPORTTIME is `-X importtime` for this interpreter only once it leaves os.environ:
            # with -X, processes started during the import (a multiprocessing resource tracker) would
            # interleave their own import lines into stderr.
            probe = python_command("-c", f"import os; os.environ.pop({_PROFILE!r}); import whoop_dagster.definitions")
            imports[mode] = import_breakdown(run_measured(probe, {**env, _PROFILE: "1"}, timeout_s=300).check().stderr)

    wall = {key: median(m.wall_s for m in runs) for key, runs in results.items()}
    cpu = {key: median(m.cpu_s for m in runs) for key, runs in results.items()}
    rss = {key: median(m.peak_rss_mb for m in runs) for key, runs in results.items()}
    spread = {key: (min(m.wall_s for m in runs), max(m.wall_s for m in runs)) for key, runs in results.items()}
    rows = []
    for case in cases:
        lo, hi = spread[case.key]
        rows.append(
            [
                case.label,
                f"{wall[case.key]:.2f} s",
                f"{lo:.2f}-{hi:.2f} s",
                f"{wall[case.key] / wall['one']:.2f}x",
                f"{cpu[case.key]:.2f} s",
                f"{cpu[case.key] / cpu['one']:.2f}x",
                f"{rss[case.key]:,.0f} MB",
            ]
        )
    local_ratio = wall["local"] / wall["one"]
    prod_ratio = wall["prod"] / wall["one_snowflake"]
    prod_vs_bare = wall["prod"] / wall["one"]
    verdict = {True: "**met**", False: "**not met**"}
    fastest = {key: lo for key, (lo, _) in spread.items()}
    goal_lines = [
        "**Goals (same run)**",
        "",
        f"- Local: {wall['local']:.2f} s = **{local_ratio:.2f}x** the one-asset project (goal <= 2.0x: "
        f"{verdict[local_ratio <= 2.0]}).",
        f"- Prod: {wall['prod']:.2f} s = **{prod_ratio:.2f}x** the one-asset project plus `import dagster_snowflake` "
        f"({wall['one_snowflake']:.2f} s), the integration prod needs to run (goal <= 1.2x: "
        f"{verdict[prod_ratio <= 1.2]}). Against the bare one-asset project: {prod_vs_bare:.2f}x.",
        f"- Against the one-asset project with one `@dbt_assets` over the same manifest "
        f"({wall['one_dbt']:.2f} s = {wall['one_dbt'] / wall['one']:.2f}x the bare one): local "
        f"{wall['local'] / wall['one_dbt']:.2f}x, prod {wall['prod'] / wall['one_dbt']:.2f}x. dagster-dbt (and with "
        "it dbt-core) loads in both modes, as `@dbt_assets` needs it.",
        f"- What the deferred Snowflake import saves: `import dagster_snowflake` (a `SnowflakeResource` built at "
        f"load; it imports Snowpark itself) costs {wall['one_snowflake'] - wall['one']:.2f} s. The prod warehouse "
        "resource imports it only when it connects.",
        f"- The same ratios from the fastest run of each case (other work on the machine only adds time): local "
        f"{fastest['local'] / fastest['one']:.2f}x, prod {fastest['prod'] / fastest['one_snowflake']:.2f}x "
        f"({fastest['prod'] / fastest['one']:.2f}x the bare one-asset project). Verdicts "
        "use the medians.",
        f"- By CPU time (user + system of the process, which other work on the machine barely changes): local "
        f"{cpu['local'] / cpu['one']:.2f}x the one-asset project, prod {cpu['prod'] / cpu['one']:.2f}x; the "
        f"one-asset project with its `@dbt_assets` {cpu['one_dbt'] / cpu['one']:.2f}x.",
    ]
    loaded = {mode: [name for name in HEAVY if name in data["modules"]] for mode, data in imports.items()}
    goal_lines.append(
        "- Heavy modules imported at load: local "
        + (", ".join(f"`{n}`" for n in loaded["local"]) or "none")
        + "; prod "
        + (", ".join(f"`{n}`" for n in loaded["prod"]) or "none")
        + "."
    )
    packages = sorted(
        set(imports["local"]["by_package"]) | set(imports["prod"]["by_package"]),
        key=lambda p: -max(imports["local"]["by_package"].get(p, 0), imports["prod"]["by_package"].get(p, 0)),
    )[:15]
    package_rows = [
        [
            f"`{p}`",
            f"{imports['local']['by_package'].get(p, 0):,.0f}",
            f"{imports['prod']['by_package'].get(p, 0):,.0f}",
        ]
        for p in packages
    ]
    package_rows.append(
        ["**all modules**", f"{imports['local']['total_ms']:,.0f}", f"{imports['prod']['total_ms']:,.0f}"]
    )
    top_rows = []
    for mode in ("local", "prod"):
        heaviest = sorted(imports[mode]["direct"], key=lambda item: -item[2])[:8]
        top_rows += [[mode, f"`{module}`", f"`{importer}`", f"{ms:,.0f}"] for importer, module, ms in heaviest]
    section.add(
        "Each case is `dagster definitions validate -m MODULE` as a whole process (fresh SQLite DAGSTER_HOME), "
        f"median of {repeat} interleaved rounds after a warm-up round; peak RSS is the process's maximum. "
        "The one-asset modules are written to a temporary directory and loaded with `-d`.",
        table(
            ["code location", "median wall", "min-max", "vs one-asset", "median CPU", "CPU vs one-asset", "peak RSS"],
            rows,
        ),
        "\n".join(goal_lines),
        '**Where the import time goes** (`python -c "import whoop_dagster.definitions"` with '
        "`PYTHONPROFILEIMPORTTIME=1`, i.e. `-X importtime` for that interpreter only; one run per mode; self time "
        "summed by top-level package, in ms; the profiling inflates the absolute numbers):",
        table(["package", "local ms", "prod ms"], package_rows),
        "Heaviest imports made by the project's own modules (cumulative ms; a dependency shared by several "
        "importers is charged to the first):",
        table(["mode", "module", "imported by (or while it ran)", "cumulative ms"], top_rows),
    )
    met = {True: "met", False: "not met"}
    section.headlines.append(
        f"local {local_ratio:.2f}x the one-asset project (goal <= 2.0x: {met[local_ratio <= 2.0]}); "
        f"prod {prod_ratio:.2f}x one-asset + dagster_snowflake (goal <= 1.2x: {met[prod_ratio <= 1.2]}; "
        f"{prod_vs_bare:.2f}x the bare one-asset project)"
    )
    return section


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds, median reported (default 5)")
    args = parser.parse_args(argv)
    return publish(measure(args.repeat))


if __name__ == "__main__":
    sys.exit(main())
