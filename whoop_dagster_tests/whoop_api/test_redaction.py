"""The one redactor: what it hides and what it leaves readable (more cases in test_alerts, test_client_helpers)."""

from __future__ import annotations

import pytest

from whoop_dagster.whoop_api.redaction import REDACTED, hide_known, redact, scrub_secrets

#: URL-safe tokens whose `-`/`_` cut them into pieces shorter than 16 characters.
SPLIT_TOKENS = ["qWYKv4-3nqjpIdeuC-yjvulZn0hd-PUc1h46g4nf_Y8", "6ctJ1kslap_vEY9ZCfu_M03YlhvEkr6fpm_ZmtuvblI"]


@pytest.mark.parametrize("token", SPLIT_TOKENS)
def test_a_url_safe_token_cut_by_dashes_is_still_redacted(token: str):
    assert scrub_secrets(f"invalid token {token} for v2/cycle") == f"invalid token {REDACTED} for v2/cycle"


def test_identifiers_in_every_case_style_stay_readable():
    text = (
        "DagsterExecutionStepExecutionError in WHOOP_DUCKDB_LOCK_TIMEOUT_SECONDS "
        "test_records_on_every_completed_day_2024 at whoop_dagster/defs/raw/assets.py"
    )
    assert scrub_secrets(text) == text


def test_known_secrets_are_hidden_longest_first_and_nothing_else_is():
    assert hide_known("abc abcdef xyz", ["abc", "abcdef", None]) == f"{REDACTED} {REDACTED} xyz"


def test_redact_puts_the_scrubbed_text_on_one_line():
    assert redact("refused:\n  password=hunter2\n") == f"refused: password={REDACTED}"
