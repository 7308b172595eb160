"""Configuration of the WHOOP API emulator.

Every behaviour WHOOP does not document (error bodies, the last page's ``next_token``,
token lifetimes, the answer to ``limit`` > 25) is a field here, so tests can pin each
variant the client must survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Literal

LastPageToken = Literal["absent", "null", "empty"]
OverLimitBehavior = Literal["400", "clamp"]
ErrorBodyStyle = Literal["whoop", "problem", "text", "empty"]

#: The most users one emulator serves; ids embed the user index in two decimal digits.
MAX_USERS = 100

# The demo OAuth app. These are public, loopback-only credentials of a fake server,
# not secrets: out-of-process users (the CLI, benchmarks) need to know them in advance.
DEFAULT_CLIENT_ID = "whoop-emulator-client"
DEFAULT_CLIENT_SECRET = "whoop-emulator-secret"  # noqa: S105 - a published demo value, see above
DEFAULT_REDIRECT_URI = "https://localhost:8976/callback"


@dataclass(frozen=True)
class RecoveryEffects:
    """How a day's behaviour moves the next morning's recovery score (points); see ``data.Physiology.recovery``.

    The defaults are the emulator's physiology. Analyses are tested against effects planted
    here: ``NO_BEHAVIOUR_EFFECTS`` makes recovery independent of every behaviour (only the
    HRV baseline's slow drift and noise remain), and e.g.
    ``RecoveryEffects(high_strain_penalty=3.0)`` adds "each strain point above 14 lowers
    next-day recovery by 3 points". Observed HRV, RHR and respiratory rate follow the
    recovery score, so an effect on recovery shows in them too.

    Attributes:
        strain_slope: points per strain point of the previous day, around strain 11.
        sleep_performance_slope: points per % of the night's sleep performance, around 85 %.
        high_strain_threshold: the strain above which ``high_strain_penalty`` applies.
        high_strain_penalty: points lost per strain point of the previous day above the threshold.
        bedtime_slope: points per hour the member fell asleep later than their habitual time
            (negative: late nights cost recovery).
    """

    strain_slope: float = -2.5
    sleep_performance_slope: float = 0.5
    high_strain_threshold: float = 14.0
    high_strain_penalty: float = 0.0
    bedtime_slope: float = 0.0


#: Recovery driven by nothing the member does: the null world of the recovery-driver analysis.
NO_BEHAVIOUR_EFFECTS = RecoveryEffects(strain_slope=0.0, sleep_performance_slope=0.0)


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator behaves.

    Attributes:
        seed: seeds every random draw; the same seed serves the same records.
        days: length of the members' history: the members joined ``days`` days before
            the clock's ``now`` *when the emulator starts* (see ``join_date``).
        users: number of members (each gets its own tokens and data).
        now: ``None`` for the real UTC clock, or a datetime to freeze the clock at
            (naive datetimes are read as UTC).
        rate_limit_per_minute / rate_limit_per_day: fixed-window limits per app.
        access_token_ttl_s: ``expires_in`` of access tokens (emulator clock).
        auth_code_ttl_s: lifetime of authorization codes (emulator clock).
        last_page_token: how the last page says so: key ``absent``, ``null`` or ``""``.
        over_limit_behavior: ``"400"`` rejects ``limit`` > 25 (what third parties report);
            ``"clamp"`` serves 25.
        error_body_style: ``whoop`` (JSON ``{"error", "message"}``), ``problem``
            (RFC 7807 JSON), ``text`` (plain text) or ``empty`` (no body).
        refresh_token_ttl_s: lifetime of refresh tokens; ``None`` = until used or revoked
            (WHOOP does not document one).
        retry_after_header: add ``Retry-After`` to 429s (WHOOP documents none).
        revoke_access_token_on_refresh: a refresh also invalidates the access token
            issued with the old refresh token (what WHOOP's docs say: "the old ones
            stop working").
        refresh_token_reuse_revokes_family: presenting an already used refresh token
            revokes every token descended from it (an OAuth server's theft defence; off
            by default because WHOOP does not document it).
        client_id / client_secret / redirect_uri: the registered demo OAuth app.
        join_date: pin the members' join date instead of deriving it from ``days``.
        block_default_user_agents: answer 403 to requests without a ``User-Agent`` or with
            a library default (``python-requests/...``, ``Python-urllib/...``). Some clients
            report WHOOP does this; it is unconfirmed, so it is off by default.
        recovery_effects: how behaviour moves recovery (:class:`RecoveryEffects`): plant or
            remove effects to test analyses against a known truth.
        strap_off_days: physiological days (the dates members woke on) with no data at all,
            as if the strap was off: no cycle, sleep, recovery or workout of those days exists
            (the cycle before simply ends where the missing one would have begun).
        duplicated_days: physiological days whose cycle, sleeps, recovery and workouts the API
            serves twice, the copies under new ids with the same times and scores (what a
            strap that synced a day twice looks like).
    """

    seed: int = 7
    days: int = 730
    users: int = 1
    now: datetime | None = None
    rate_limit_per_minute: int = 100
    rate_limit_per_day: int = 10_000
    access_token_ttl_s: int = 3600
    auth_code_ttl_s: int = 600
    last_page_token: LastPageToken = "absent"  # noqa: S105 - a style name, not a password
    over_limit_behavior: OverLimitBehavior = "400"
    error_body_style: ErrorBodyStyle = "whoop"
    # Fields beyond the documented contract come after it, so positional use stays valid.
    refresh_token_ttl_s: int | None = None
    retry_after_header: bool = False
    revoke_access_token_on_refresh: bool = True
    refresh_token_reuse_revokes_family: bool = False
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    redirect_uri: str = DEFAULT_REDIRECT_URI
    join_date: date | None = None
    block_default_user_agents: bool = False
    recovery_effects: RecoveryEffects = RecoveryEffects()
    strap_off_days: tuple[date, ...] = ()
    duplicated_days: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")
        if not 1 <= self.users <= MAX_USERS:
            raise ValueError(f"users must be between 1 and {MAX_USERS}, got {self.users}")
        if self.rate_limit_per_minute < 1 or self.rate_limit_per_day < 1:
            raise ValueError("rate limits must be positive")
        if self.access_token_ttl_s < 1 or self.auth_code_ttl_s < 1:
            raise ValueError("token lifetimes must be positive")
        _check_choice("last_page_token", self.last_page_token, ("absent", "null", "empty"))
        _check_choice("over_limit_behavior", self.over_limit_behavior, ("400", "clamp"))
        _check_choice("error_body_style", self.error_body_style, ("whoop", "problem", "text", "empty"))
        if self.now is not None and self.now.tzinfo is None:
            # A frozen dataclass: normalise through object.__setattr__ once, here.
            object.__setattr__(self, "now", self.now.replace(tzinfo=timezone.utc))


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
