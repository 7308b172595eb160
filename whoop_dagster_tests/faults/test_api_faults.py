"""The API misbehaves mid-run, and the run's metadata accounts for it: 429 waits, 5xx retries.

Each test runs the six real raw assets over 28 daily partitions (two pages per
collection) with one fault injected in the emulator, then ``FaultLab.conclude`` re-runs
plainly and compares every raw table to the emulator's truth. The other API faults (storms
that outlast the client, persistent 5xx, slow, truncated and malformed pages) are the
seeded campaign's (``test_campaign.py``), which judges the same way.
"""

from whoop_dagster_tests.faults.harness import RECOVERED, FaultLab
from whoop_dagster_tests.faults.summary import SCENARIOS

BURST_OF_429, TRANSIENT_5XX = SCENARIOS[:2]


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


def test_two_5xx_on_the_second_page_are_retried_and_lose_nothing(lab: FaultLab):
    lab.emu.faults.add("server_error", path="/v2/activity/sleep", after=1, times=2, status=503)
    run = lab.materialize()
    problems = [] if lab.mid_pagination("server_error") else ["the 5xx did not hit a page after the first"]
    if run.success and lab.metadata_total(run, "whoop/api_retries") < 2:
        problems.append("the run's metadata does not count the two retries")
    lab.emu.faults.clear()
    lab.conclude(TRANSIENT_5XX, RECOVERED, run, problems=problems)
