"""``whoop-dagster demo`` (what ``make run`` runs) as a person sees it: short, one line per step, errors in full."""

from __future__ import annotations

import re
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest

from whoop_dagster.demo import load_range, summarize
from whoop_dagster.instance_storage import open_instance
from whoop_dagster.run_progress import StepTally, step_line
from whoop_dagster_tests.support.clock import frozen_now
from whoop_dagster_tests.support.processes import BIN, user_env


@pytest.mark.time_sensitive
def test_the_main_job_loads_the_last_n_utc_days_up_to_today(monkeypatch):
    monkeypatch.delenv("WHOOP_START_DATE", raising=False)
    now = frozen_now()
    days = load_range(90, now)
    assert days.last == now.date()
    assert days.days == 90


@pytest.mark.time_sensitive
def test_the_main_job_never_loads_before_the_start_date(monkeypatch):
    now = frozen_now()
    start = now.date() - timedelta(days=10)
    monkeypatch.setenv("WHOOP_START_DATE", start.isoformat())
    assert load_range(90, now).first == start


def test_two_minutes_before_utc_midnight_today_is_still_the_utc_date():
    # 18:58 in Bogotá, 12:58 the next day in Auckland: the range ends on the UTC date either way.
    auckland = datetime(2024, 3, 1, 12, 58, tzinfo=timezone(timedelta(hours=13)))
    days = load_range(2, auckland)
    assert (days.first, days.last) == (date(2024, 2, 28), date(2024, 2, 29))


def test_a_partitioned_step_line_counts_partitions_and_the_tables_rows():
    tally = StepTally(rows={"raw/cycle": 70}, materializations=70, checks_passed=0)
    line = step_line("raw__cycle", tally, 5.04)
    assert line.split() == ["raw/cycle", "70", "partitions,", "70", "rows", "5.0", "s"]


def test_a_multi_asset_step_line_sums_its_assets_rows_and_checks():
    tally = StepTally(rows={"marts/a": 1200, "marts/b": 30}, materializations=2, checks_passed=184, checks_failed=1)
    line = step_line("whoop_dbt_models", tally, 35.2)
    assert "whoop_dbt_models" in line
    assert "2 assets, 1,230 rows, 184 checks passed, 1 FAILED" in line


def test_a_check_step_line_names_the_step_and_its_checks():
    line = step_line("raw_cycle_checks", StepTally(checks_passed=1), 0.4)
    assert line.split() == ["raw_cycle_checks", "1", "check", "passed", "0.4", "s"]


def test_a_failed_warn_check_is_reported_without_failing_the_run():
    @dg.asset(check_specs=[dg.AssetCheckSpec("warns", asset="scores"), dg.AssetCheckSpec("holds", asset="scores")])
    def scores():
        yield dg.Output(None, metadata={"dagster/row_count": 3})
        yield dg.AssetCheckResult(check_name="warns", passed=False, severity=dg.AssetCheckSeverity.WARN)
        yield dg.AssetCheckResult(check_name="holds", passed=True)

    summary = summarize(dg.materialize([scores]).all_events)
    assert (summary.checks_passed, summary.checks_warned, summary.checks_failed) == (1, ["scores:warns"], [])
    assert "Asset checks: 1 passed, 1 warned, 0 failed" in summary.render()
    assert "1 check passed, 1 warned" in step_line("scores", StepTally(checks_passed=1, checks_warned=1), 0.1)


@pytest.mark.slow
def test_a_three_day_demo_prints_a_line_per_step_and_the_forecasts_error(tmp_path: Path):
    """Three days are too few to train the forecast: every other step succeeds, the forecast fails."""
    result = subprocess.run(
        [str(BIN / "whoop-dagster"), "demo", "--days", "3"],
        cwd=tmp_path,
        env=user_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    terminal = result.stdout + result.stderr
    assert result.returncode == 1, terminal[-4000:]
    for asset in ("raw/cycle", "raw/sleep", "raw/recovery", "raw/workout", "raw/user_profile"):
        assert re.search(rf"^  {re.escape(asset)} .* rows .* \d+\.\d s$", terminal, re.MULTILINE), asset
    assert re.search(r"^  whoop_dbt_models +\d+ assets, [\d,]+ rows, \d+ checks passed .* s$", terminal, re.MULTILINE)
    assert re.search(r"^  ml/recovery_anomalies .* s$", terminal, re.MULTILINE)
    # The failure, in full: the step, the error, its cause and where it was raised.
    assert re.search(r"^  ml__recovery_forecast +FAILED", terminal, re.MULTILINE)
    assert "NotEnoughHistoryError" in terminal
    assert "Stack Trace:" in terminal
    assert "Asset checks:" in terminal  # then the summary, as before
    for noise in ("DEBUG", "BetaWarning", "Running with dbt", "STEP_START"):
        assert noise not in terminal, noise
    assert len(terminal.splitlines()) < 150

    # One planned event per asset for the run's whole range, not one per partition and asset.
    with open_instance(tmp_path / "dagster_home") as instance:
        [run] = instance.get_run_records()
        planned = instance.get_records_for_run(
            run.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, limit=10_000
        ).records
    raw_cycle = [record for record in planned if record.asset_key == dg.AssetKey(["raw", "cycle"])]
    assert len(raw_cycle) == 1
    assert raw_cycle[0].event_log_entry.dagster_event.event_specific_data.partitions_subset is not None

    log_path = Path(re.search(r"^Full log: (\S+)$", terminal, re.MULTILINE)[1])
    log = log_path.read_text()
    assert "STEP_START" in log  # every event of the run
    assert "DEBUG" in log
    assert "Running with dbt" in log  # dbt's own output
    assert "NotEnoughHistoryError" in log
