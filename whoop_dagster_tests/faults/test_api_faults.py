"""The API misbehaves mid-run: 429 storms, 5xx mid-pagination, timeouts, unreadable pages.

Each test runs the six real raw assets over 28 daily partitions (two pages per
collection) with one fault injected in the emulator, then ``FaultLab.conclude`` re-runs
plainly and compares every raw table to the emulator's truth.
"""

from whoop_dagster_tests.faults.harness import FAILED_CLEARLY, RECOVERED, FaultLab
from whoop_dagster_tests.faults.summary import SCENARIOS

(
    BURST_OF_429,
    ENDLESS_429,
    TRANSIENT_5XX,
    PERSISTENT_5XX,
    TIMEOUT,
    MALFORMED_JSON,
    TRUNCATED,
) = SCENARIOS[:7]


def test_a_burst_of_429s_mid_run_is_waited_out_and_loses_nothing(lab: FaultLab):
    lab.emu.faults.add("rate_limit", after=3, times=3, reset=0)
    run = lab.materialize()
    problems = []
    if lab.fired("rate_limit") != 3 or not lab.mid_pagination("rate_limit"):
        problems.append(f"the storm fired {lab.fired('rate_limit')} times, not 3 on a page after the first")
    waited = lab.metadata_total(run, "whoop/rate_limit_wait_seconds")
    if run.success and waited < 2.5:  # 3 waits of X-RateLimit-Reset (0 s) + the client's 1 s margin
        problems.append(f"the run reports {waited} s of rate-limit waits for three 429s")
    lab.emu.faults.clear()
    lab.conclude(BURST_OF_429, RECOVERED, run, problems=problems)


def test_a_429_storm_that_outlasts_the_client_fails_naming_endpoint_and_partitions(lab: FaultLab):
    before = lab.baseline()
    lab.emu.faults.add("rate_limit", path="/v2/cycle", after=1, times=None, reset=0)
    run = lab.materialize()
    lab.emu.faults.clear()
    problems = [] if set(run.failures) == {"raw__cycle"} else [f"failed steps: {sorted(run.failures)}"]
    lab.conclude(ENDLESS_429, FAILED_CLEARLY, run, before=before, problems=problems)


def test_two_5xx_on_the_second_page_are_retried_and_lose_nothing(lab: FaultLab):
    lab.emu.faults.add("server_error", path="/v2/activity/sleep", after=1, times=2, status=503)
    run = lab.materialize()
    problems = [] if lab.mid_pagination("server_error") else ["the 5xx did not hit a page after the first"]
    if run.success and lab.metadata_total(run, "whoop/api_retries") < 2:
        problems.append("the run's metadata does not count the two retries")
    lab.emu.faults.clear()
    lab.conclude(TRANSIENT_5XX, RECOVERED, run, problems=problems)


def test_a_persistent_5xx_on_the_second_page_fails_clearly_and_writes_no_partial_range(lab: FaultLab):
    before = lab.baseline()
    lab.emu.faults.add("server_error", path="/v2/cycle", after=1, times=None, status=502)
    run = lab.materialize(whoop=lab.whoop(max_retries=2))
    problems = [] if lab.mid_pagination("server_error") else ["the 5xx did not hit a page after the first"]
    lab.emu.faults.clear()
    lab.conclude(PERSISTENT_5XX, FAILED_CLEARLY, run, before=before, problems=problems)


def test_pages_slower_than_the_read_timeout_are_read_again_and_lose_nothing(lab: FaultLab):
    lab.emu.faults.add("slow", path="/v2/recovery", after=1, times=2, seconds=2.0)
    run = lab.materialize(whoop=lab.whoop(timeout_seconds=0.5))
    problems = [] if lab.fired("slow") == 2 else [f"the slow fault fired {lab.fired('slow')} times, not 2"]
    lab.emu.faults.clear()
    lab.conclude(TIMEOUT, RECOVERED, run, problems=problems)


def test_a_page_that_stays_malformed_json_fails_clearly_and_keeps_the_previous_rows(lab: FaultLab):
    before = lab.baseline()
    lab.emu.faults.add("malformed_json", path="/v2/cycle", after=1, times=None)
    run = lab.materialize()
    problems = [] if lab.mid_pagination("malformed_json") else ["the malformed page was not a page after the first"]
    lab.emu.faults.clear()
    lab.conclude(MALFORMED_JSON, FAILED_CLEARLY, run, before=before, problems=problems)


def test_a_truncated_page_is_read_again_and_loses_nothing(lab: FaultLab):
    lab.emu.faults.add("truncated", path="/v2/activity/sleep", after=1, times=1)
    run = lab.materialize()
    problems = [] if lab.mid_pagination("truncated") else ["the truncated page was not a page after the first"]
    lab.emu.faults.clear()
    lab.conclude(TRUNCATED, RECOVERED, run, problems=problems)
