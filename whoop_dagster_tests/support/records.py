"""Hand-written WHOOP v2 records shaped exactly by the published schema (not by our emulator)."""

from __future__ import annotations

from typing import Any


def cycle(
    cycle_id: int,
    start: str,
    *,
    end: str | None = None,
    updated_at: str | None = None,
    state: str = "SCORED",
    strain: float = 10.0,
) -> dict[str, Any]:
    """A cycle; ``end=None`` leaves the key out, as for the current cycle."""
    record: dict[str, Any] = {
        "id": cycle_id,
        "user_id": 10129,
        "created_at": start,
        "updated_at": updated_at or start,
        "start": start,
        "timezone_offset": "-05:00",
        "score_state": state,
    }
    if end is not None:
        record["end"] = end
    if state == "SCORED":
        record["score"] = {"strain": strain, "kilojoule": 8288.3, "average_heart_rate": 68, "max_heart_rate": 141}
    return record


def sleep(
    sleep_id: str,
    start: str,
    end: str,
    *,
    cycle_id: int = 1,
    nap: bool = False,
    updated_at: str | None = None,
    state: str = "SCORED",
) -> dict[str, Any]:
    """A sleep without the optional ``v1_id`` and ``respiratory_rate``."""
    record: dict[str, Any] = {
        "id": sleep_id,
        "cycle_id": cycle_id,
        "user_id": 10129,
        "created_at": end,
        "updated_at": updated_at or end,
        "start": start,
        "end": end,
        "timezone_offset": "Z",
        "nap": nap,
        "score_state": state,
    }
    if state == "SCORED":
        record["score"] = {
            "stage_summary": {
                "total_in_bed_time_milli": 30272735,
                "total_awake_time_milli": 1403507,
                "total_no_data_time_milli": 0,
                "total_light_sleep_time_milli": 14905851,
                "total_slow_wave_sleep_time_milli": 6630370,
                "total_rem_sleep_time_milli": 5879573,
                "sleep_cycle_count": 3,
                "disturbance_count": 12,
            },
            "sleep_needed": {
                "baseline_milli": 27395716,
                "need_from_sleep_debt_milli": 352230,
                "need_from_recent_strain_milli": 208595,
                "need_from_recent_nap_milli": -12312,
            },
            "sleep_performance_percentage": 98,
            "sleep_efficiency_percentage": 91.69,
        }
    return record


def recovery(
    cycle_id: int,
    sleep_id: str,
    *,
    updated_at: str = "2024-01-02T12:00:00.000Z",
    state: str = "SCORED",
    score: float = 44,
) -> dict[str, Any]:
    """A recovery from a 3.0 strap: no ``spo2_percentage`` or ``skin_temp_celsius``."""
    record: dict[str, Any] = {
        "cycle_id": cycle_id,
        "sleep_id": sleep_id,
        "user_id": 10129,
        "created_at": updated_at,
        "updated_at": updated_at,
        "score_state": state,
    }
    if state == "SCORED":
        record["score"] = {
            "user_calibrating": False,
            "recovery_score": score,
            "resting_heart_rate": 64,
            "hrv_rmssd_milli": 31.813562,
        }
    return record
