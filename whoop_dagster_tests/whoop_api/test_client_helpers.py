"""Pure helpers of the client: timestamps, Retry-After, stats, redaction, retry hooks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from whoop_dagster.whoop_api.client import ClientStats, format_timestamp, parse_retry_after
from whoop_dagster.whoop_api.http import USER_AGENT, HookedRetry
from whoop_dagster.whoop_api.redaction import redact


def test_timestamps_are_sent_in_utc_with_milliseconds():
    moment = datetime(2024, 3, 1, 7, 5, 9, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(moment) == "2024-03-01T05:05:09.123Z"


def test_naive_timestamps_are_refused_instead_of_guessed():
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2024, 3, 1))


def test_retry_after_in_seconds_is_read_as_seconds():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5


def test_retry_after_as_an_http_date_is_read_relative_to_now():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30.0


def test_a_missing_or_garbled_retry_after_means_no_hint():
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None


def test_stats_as_metadata_is_a_flat_dict_of_numbers():
    stats = ClientStats()
    stats.add(requests=3, pages=2, records=40, rate_limit_wait_seconds=1.23456)
    metadata = stats.as_metadata()
    assert metadata["requests"] == 3
    assert metadata["rate_limit_wait_seconds"] == 1.235
    assert set(metadata) >= {
        "requests",
        "pages",
        "records",
        "retries",
        "rate_limit_waits",
        "rate_limit_wait_seconds",
        "token_refreshes",
    }
    assert all(isinstance(value, (int, float)) for value in metadata.values())


def test_the_user_agent_names_the_project_and_its_version():
    assert USER_AGENT.startswith("whoop-dagster/")
    assert "python-requests" in USER_AGENT


def test_redact_hides_known_secrets_and_token_like_text_but_keeps_uuids():
    text = redact(
        "token abc123 rejected; other eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig for "
        "sleep 3fa85f64-5717-4562-b3fc-2c963f66afa6",
        ["abc123"],
    )
    assert "abc123" not in text
    assert "eyJhbGci" not in text
    assert "3fa85f64-5717-4562-b3fc-2c963f66afa6" in text


def test_redact_shortens_long_text():
    assert len(redact("word " * 200)) == 200


def test_hooked_retry_reports_each_granted_retry_and_keeps_its_hooks():
    seen: list[str] = []
    retry = HookedRetry(total=2, on_retry=lambda: seen.append("retry"), before_retry=lambda: seen.append("before"))
    second = retry.increment(method="GET", url="/x", error=ConnectionError())
    assert second.on_retry is retry.on_retry
    second.sleep()
    third = second.increment(method="GET", url="/x", error=ConnectionError())
    assert seen == ["retry", "before", "retry"]
    with pytest.raises(Exception, match="Max retries"):
        third.increment(method="GET", url="/x", error=ConnectionError())
    assert seen == ["retry", "before", "retry"]


def test_stats_are_plain_dataclass_numbers_that_threads_can_add_to():
    import dataclasses
    import threading

    stats = ClientStats()

    def bump() -> None:
        for _ in range(1000):
            stats.add(requests=1, rate_limit_wait_seconds=0.001)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stats.requests == 4000
    assert dataclasses.asdict(stats)["requests"] == 4000
