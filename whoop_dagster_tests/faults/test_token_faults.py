"""OAuth trouble mid-run: the access token expires, another process rotates the refresh token.

Both happen at an exact point of the run (inside the emulator, while it handles the third
data request, before it checks the bearer token), so the run's very next request meets them.
"""

import logging

from whoop_dagster_tests.faults.harness import RECOVERED, FaultLab, on_data_request, run_child
from whoop_dagster_tests.faults.summary import SCENARIOS

EXPIRED, ROTATED = SCENARIOS[2:4]


def _prime_the_token_file(lab: FaultLab) -> dict[str, int]:
    """Store a fresh pair first, so the run under test needs no refresh of its own; the token counters then."""
    assert lab.refresh_token_works()
    return lab.token_counters()


def test_access_tokens_expiring_mid_run_cost_one_refresh_and_lose_nothing(lab: FaultLab):
    before = _prime_the_token_file(lab)
    with on_data_request(lab.emu, 3, lab.emu.expire_access_tokens) as hook:
        run = lab.materialize()
    after = lab.token_counters()
    problems = []
    if not hook.fired.is_set() or hook.error is not None:
        problems.append(f"the tokens were not expired mid-run ({hook.error!r})")
    if after["access_rejected"] == before["access_rejected"]:
        problems.append("the run never met the expired token (no 401)")
    if after["refreshed"] - before["refreshed"] != 1 or after["rejected"] != before["rejected"]:
        problems.append(f"expected exactly one refresh and no rejected grant, token counters went {before} → {after}")
    lab.conclude(EXPIRED, RECOVERED, run, problems=problems)


def test_a_refresh_token_rotated_elsewhere_mid_run_is_read_from_the_store(lab: FaultLab):
    before = _prime_the_token_file(lab)
    spec = {key: lab.whoop_config()[key] for key in ("oauth_base_url", "client_id", "client_secret", "redirect_uri")}
    spec["token_store_path"] = str(lab.token_path)
    rotations = []

    def another_process_rotates() -> None:
        done = run_child(lab, "rotate", spec, timeout_s=60)
        rotations.append(done.returncode)
        assert done.returncode == 0, done.stderr[-2000:]

    with on_data_request(lab.emu, 3, another_process_rotates) as hook:
        run = lab.materialize()
    after = lab.token_counters()
    problems = []
    if rotations != [0] or hook.error is not None:
        problems.append(f"the other process did not rotate the tokens ({hook.error!r})")
    if after["access_rejected"] == before["access_rejected"]:
        problems.append("the rotation did not revoke the run's access token (no 401): the scenario proves nothing")
    # One refresh in all: the other process's. The run re-read the store instead of refreshing
    # again, and never presented a spent refresh token.
    if after["refreshed"] - before["refreshed"] != 1 or after["rejected"] != before["rejected"]:
        problems.append(f"expected only the other process's refresh, token counters went {before} → {after}")
    lab.conclude(ROTATED, RECOVERED, run, problems=problems)


def test_the_secret_scan_finds_a_token_that_reached_a_log_or_child_process(lab: FaultLab):
    # The scan itself must work: plant freshly issued refresh tokens where a leak would land.
    assert lab.materialize().success  # something to scan: logs, events, metadata
    first, second = lab.emu.issue_refresh_token(), lab.emu.issue_refresh_token()
    assert {first, second} <= lab.secrets
    assert lab.leaks() == []
    logging.getLogger("whoop_dagster_tests.faults").debug("oops: %s", first[:20])  # a prefix is a leak too
    lab.texts.append(f"child stderr ... refresh_token={second}")
    assert len(lab.leaks()) == 2
