"""Run-failure alerts: one message per failed run to a Slack-compatible incoming webhook.

``run_failure_alert_sensor`` watches every job of this code location (asset jobs,
backfills and ad-hoc materializations included) and, when ``WHOOP_ALERT_WEBHOOK_URL``
is set, posts ``{"text": ...}`` — the shape Slack, Mattermost, Rocket.Chat and
Discord's ``/slack`` endpoints accept. The message names the job, the run id, each
failed step with a one-line error summary, and a link to the run in the UI.

When the failure is the WHOOP refresh token being rejected (a ``WhoopAuthError``
whose message carries the hint "Run `whoop-dagster auth`"), the message says so
and gives the command that fixes it: refresh-token health is an alert, not a log
line someone has to find.

Rules this module keeps:

- The environment is read when the sensor evaluates, never at import.
- Nothing secret leaves the process: error texts are scrubbed (bearer tokens,
  ``key=value`` credentials, private keys, long opaque strings) and the webhook
  URL — itself a credential for Slack — is never logged.
- One HTTP attempt with a timeout. A failed post is logged on the tick and the
  sensor moves on: raising would make the daemon retry the same run every tick.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg

from whoop_dagster import environment
from whoop_dagster.whoop_api.errors import WhoopAuthError

SENSOR_NAME = "run_failure_alert_sensor"
WEBHOOK_URL_ENV = "WHOOP_ALERT_WEBHOOK_URL"
UI_URL_ENV = "WHOOP_DAGSTER_UI_URL"
DEFAULT_UI_URL = "http://127.0.0.1:3000"
REAUTHORIZE_COMMAND = "whoop-dagster auth"
POST_TIMEOUT_SECONDS = 10.0
MAX_ERROR_CHARS = 500
MAX_STEPS_LISTED = 10
REDACTED = "[redacted]"

# The hint every "authorize again" WhoopAuthError carries (see whoop_api/auth.py and client.py).
_REAUTHORIZE_HINT = re.compile(r"run `whoop-dagster auth`", re.IGNORECASE)
_ERROR_CHAIN_DEPTH = 10


class AlertDeliveryError(Exception):
    """The webhook could not be reached or refused the message. Never names the URL."""


# --- secrets -----------------------------------------------------------------------------------

_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|$)", re.DOTALL)
_URL_USERINFO = re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+@")
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
# `key=value`, `key: value`, `"key": "value"` for names that hold credentials.
_CREDENTIAL_PAIR = re.compile(
    r"""(?P<key>["']?\b(?:refresh_token|access_token|id_token|token|client_secret|secret|password|passwd"""
    r"""|api_key|apikey|private_key|private_key_password|authorization)["']?\s*[=:]\s*)"""
    # The value, unless it is an auth scheme (`Authorization: Bearer ...`, handled above) or already redacted.
    r"""(?P<quote>["']?)(?!(?:Bearer|Basic|Token)\b|\[redacted)[^"'\s&,;})\]]+""",
    re.IGNORECASE,
)
# OAuth authorization codes travel as `code=...` in redirect URLs.
_QUERY_CODE = re.compile(r"\b(code|state)=[^&\s\"',;)]+", re.IGNORECASE)
_OPAQUE_CANDIDATE = re.compile(r"[A-Za-z0-9+/_.~\-]{20,}")
_SEGMENT_SEPARATORS = re.compile(r"[/._~+\-]")
_HEX = re.compile(r"[0-9a-fA-F]{32,}")


def _looks_opaque(candidate: str) -> bool:
    """A long hex string, or a word-free run of letters and digits (tokens, JWTs, keys).

    Identifiers, dotted module paths, file paths, dates and UUIDs break into short
    segments at ``/ . _ - ~ +`` and are kept; random base64 does not.
    """
    if _HEX.fullmatch(candidate):
        return True
    return any(
        len(segment) >= 16 and any(c.isdigit() for c in segment) and any(c.isalpha() for c in segment)
        for segment in _SEGMENT_SEPARATORS.split(candidate)
    )


def scrub_secrets(text: str) -> str:
    """``text`` with anything that looks like a credential replaced by ``[redacted]``."""
    text = _PEM_BLOCK.sub("[redacted private key]", text)
    text = _URL_USERINFO.sub(f"{REDACTED}@", text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _CREDENTIAL_PAIR.sub(lambda m: f"{m.group('key')}{m.group('quote')}{REDACTED}", text)
    text = _QUERY_CODE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    return _OPAQUE_CANDIDATE.sub(lambda m: REDACTED if _looks_opaque(m.group(0)) else m.group(0), text)


# --- errors ------------------------------------------------------------------------------------


def _error_chain(error: Any) -> Iterator[Any]:
    """``error`` (a ``SerializableErrorInfo``) and its causes/contexts, outermost first."""
    pending, seen = [error], 0
    while pending and seen < _ERROR_CHAIN_DEPTH:
        current = pending.pop(0)
        if current is None:
            continue
        seen += 1
        yield current
        pending.extend([getattr(current, "cause", None), getattr(current, "context", None)])


def _one_line(error: Any) -> str:
    """``ClassName: message`` without the module path Dagster puts in front."""
    text = (getattr(error, "message", "") or "").strip()
    cls_name = getattr(error, "cls_name", None) or ""
    prefix, sep, rest = text.partition(": ")
    if sep and cls_name and prefix.rsplit(".", 1)[-1] == cls_name:
        text = f"{cls_name}: {rest.strip()}"
    return " ".join(text.split())


def _truncate(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize_error(error: Any) -> str:
    """One scrubbed line for a failure: the user's exception, not Dagster's wrapper around it."""
    chain = list(_error_chain(error))
    if not chain:
        return "no error details recorded"
    user_errors = [e for e in chain if not (getattr(e, "cls_name", "") or "").startswith("Dagster")]
    # Scrub before truncating, so that no token is cut into a harmless-looking stub.
    return _truncate(scrub_secrets(_one_line(user_errors[0] if user_errors else chain[0])))


def _auth_error_names() -> frozenset[str]:
    names, pending = set(), [WhoopAuthError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return frozenset(names)


def _reauthorize_messages(error: Any) -> list[str]:
    auth_names = _auth_error_names()
    return [
        getattr(e, "message", "") or ""
        for e in _error_chain(error)
        if getattr(e, "cls_name", None) in auth_names and _REAUTHORIZE_HINT.search(getattr(e, "message", "") or "")
    ]


def needs_reauthorization(error: Any) -> bool:
    """True when a ``WhoopAuthError`` in the chain tells the user to run ``whoop-dagster auth``."""
    return bool(_reauthorize_messages(error))


def refresh_token_rejected(error: Any) -> bool:
    """True when that ``WhoopAuthError`` is about the refresh token (rejected, used or revoked)."""
    return any("refresh token" in message.lower() for message in _reauthorize_messages(error))


# --- the message -------------------------------------------------------------------------------


def run_url(run_id: str, env: Mapping[str, str] | None = None) -> str | None:
    """The run's page in the UI, or ``None`` on Dagster+ when the organization URL is unknown.

    Locally: ``{WHOOP_DAGSTER_UI_URL or http://127.0.0.1:3000}/runs/{run_id}``.
    On Dagster+ (``DAGSTER_CLOUD_DEPLOYMENT_NAME`` is set): ``{org URL}/{deployment}/runs/{run_id}``,
    the organization URL taken from ``DAGSTER_CLOUD_URL``, ``WHOOP_DAGSTER_UI_URL`` or
    ``https://{DAGSTER_CLOUD_ORGANIZATION}.dagster.cloud``, in that order.
    """
    env = os.environ if env is None else env
    configured = env.get(UI_URL_ENV, "").strip().rstrip("/")
    deployment = env.get("DAGSTER_CLOUD_DEPLOYMENT_NAME", "").strip()
    if not deployment:
        return f"{configured or DEFAULT_UI_URL}/runs/{run_id}"
    organization = env.get("DAGSTER_CLOUD_ORGANIZATION", "").strip()
    org_url = (
        env.get("DAGSTER_CLOUD_URL", "").strip().rstrip("/")
        or configured
        or (f"https://{organization}.dagster.cloud" if organization else "")
    )
    return f"{org_url}/{deployment}/runs/{run_id}" if org_url else None


@dataclass(frozen=True)
class StepFailure:
    step_key: str
    error: str


@dataclass(frozen=True)
class FailureAlert:
    """Everything a failure message says; ``text`` renders it, ``payload`` wraps it for the webhook."""

    job_name: str
    run_id: str
    deployment: str  # as shown: the Dagster+ deployment name, else `local`/`branch`/`prod`
    kind: environment.Deployment
    run_url: str | None
    steps: tuple[StepFailure, ...]
    run_error: str | None
    reauthorize: bool
    refresh_token_rejected: bool = False

    @property
    def text(self) -> str:
        lines = [
            f":rotating_light: *WHOOP pipeline run failed* — job `{self.job_name}` (deployment `{self.deployment}`)",
            f"Run id: `{self.run_id}`",
        ]
        if self.run_url:
            lines.append(f"Run: {self.run_url}")
        else:
            lines.append(
                f"Run: open /{self.deployment}/runs/{self.run_id} in your Dagster+ organization "
                f"(set {UI_URL_ENV}=https://<org>.dagster.cloud for a link)"
            )
        if self.steps:
            lines.append("Failed steps:")
            lines.extend(f"• `{step.step_key}`: {step.error}" for step in self.steps[:MAX_STEPS_LISTED])
            if len(self.steps) > MAX_STEPS_LISTED:
                lines.append(f"• … and {len(self.steps) - MAX_STEPS_LISTED} more")
        elif self.run_error:
            lines.append(f"Error: {self.run_error}")
        if self.reauthorize:
            lines.append(self.reauthorize_advice)
        return "\n".join(lines)

    @property
    def reauthorize_advice(self) -> str:
        if self.kind is environment.Deployment.LOCAL:
            where = "on the machine that runs Dagster (it writes the new tokens to the local token store)"
        else:
            where = (
                f"with `WHOOP_DEPLOYMENT={self.kind.value}` and this deployment's SNOWFLAKE_* settings, "
                "so the new tokens land in its warehouse token store"
            )
        headline = (
            ":key: *WHOOP refresh token rejected* — the stored token was used or revoked"
            if self.refresh_token_rejected
            else ":key: *WHOOP authorization needed* — WHOOP refused the app's access"
        )
        return (
            f"{headline}, so every WHOOP load will fail until you authorize again. "
            f"Fix: run `{REAUTHORIZE_COMMAND}` {where}, then re-execute this run."
        )

    @property
    def payload(self) -> dict[str, Any]:
        return {"text": self.text}


def build_failure_alert(context: dg.RunFailureSensorContext, env: Mapping[str, str] | None = None) -> FailureAlert:
    """The alert for the failed run in ``context``, from its run-failure and step-failure events."""
    env = os.environ if env is None else env
    run = context.dagster_run
    steps: dict[str, StepFailure] = {}
    errors: list[Any] = []
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        errors.append(error)
        key = event.step_key or "(unknown step)"
        steps.setdefault(key, StepFailure(step_key=key, error=summarize_error(error)))

    failure = context.failure_event
    run_error_info = getattr(failure.event_specific_data, "error", None)
    errors.append(run_error_info)
    run_error = None
    if not steps and run_error_info is not None:
        run_error = summarize_error(run_error_info)
    elif not steps:
        run_error = _truncate(scrub_secrets(failure.message or ""))

    kind = environment.current_deployment()
    return FailureAlert(
        job_name=run.job_name,
        run_id=run.run_id,
        deployment=env.get("DAGSTER_CLOUD_DEPLOYMENT_NAME") or kind.value,
        kind=kind,
        run_url=run_url(run.run_id, env),
        steps=tuple(steps.values()),
        run_error=run_error or None,
        reauthorize=any(needs_reauthorization(e) for e in errors if e is not None),
        refresh_token_rejected=any(refresh_token_rejected(e) for e in errors if e is not None),
    )


# --- delivery ----------------------------------------------------------------------------------


def post_to_webhook(url: str, payload: Mapping[str, Any], timeout: float = POST_TIMEOUT_SECONDS) -> int:
    """POST ``payload`` as JSON to ``url`` once; the HTTP status, or :class:`AlertDeliveryError`.

    Error messages never contain the URL (a Slack webhook URL is a credential), and the
    original exception is not chained for the same reason.
    """
    import http.client
    import urllib.error
    import urllib.request
    from urllib.parse import urlsplit

    if urlsplit(url).scheme not in ("http", "https"):
        raise AlertDeliveryError(f"{WEBHOOK_URL_ENV} must be an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "whoop-dagster-alerts"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
            response.read(4096)
            return response.status
    except urllib.error.HTTPError as err:
        raise AlertDeliveryError(f"the webhook answered HTTP {err.code}") from None
    except (OSError, http.client.HTTPException) as err:  # URLError, timeouts, refused/reset connections
        raise AlertDeliveryError(f"the webhook could not be reached ({type(err).__name__})") from None


# --- the sensor --------------------------------------------------------------------------------


def build_run_failure_alert_sensor() -> dg.SensorDefinition:
    """``run_failure_alert_sensor``: RUNNING by default, a no-op (said on the tick) without a webhook."""

    @dg.run_failure_sensor(
        name=SENSOR_NAME,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            f"Posts each failed run (job, run id, failed steps, link) to the Slack-compatible webhook in "
            f"{WEBHOOK_URL_ENV}; says when the WHOOP refresh token needs `{REAUTHORIZE_COMMAND}`. "
            "Does nothing while the variable is unset."
        ),
    )
    def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> dg.SkipReason | None:
        run_id = context.dagster_run.run_id
        webhook_url = os.getenv(WEBHOOK_URL_ENV, "").strip()
        if not webhook_url:
            message = f"{WEBHOOK_URL_ENV} is not set: no alert posted for failed run {run_id}"
            context.log.info(message)
            return dg.SkipReason(message)

        alert = build_failure_alert(context)
        try:
            status = post_to_webhook(webhook_url, alert.payload)
        except AlertDeliveryError as err:
            context.log.warning(f"could not post the failure alert for run {run_id}: {err}")
            return None
        context.log.info(
            f"posted the failure alert for run {run_id} (HTTP {status})"
            + ("; it asks for WHOOP re-authorization" if alert.reauthorize else "")
        )
        return None

    return run_failure_alert_sensor


__all__ = [
    "SENSOR_NAME",
    "AlertDeliveryError",
    "FailureAlert",
    "build_failure_alert",
    "build_run_failure_alert_sensor",
    "needs_reauthorization",
    "post_to_webhook",
    "refresh_token_rejected",
    "run_url",
    "scrub_secrets",
    "summarize_error",
]
