"""Code run in child processes by the token tests (importable, so ``spawn`` can start it)."""

from __future__ import annotations

from typing import Any

from whoop_dagster.whoop_api.auth import OAuthApp, TokenManager
from whoop_dagster.whoop_api.client import WhoopClient
from whoop_dagster.whoop_api.token_store import FileTokenStore


def read_profile_with_own_manager(
    app_kwargs: dict[str, Any], api_base_url: str, token_path: str, barrier: Any
) -> dict[str, Any]:
    """Build a client over the shared token file, wait for the others, read the profile."""
    manager = TokenManager(OAuthApp(**app_kwargs), FileTokenStore(token_path))
    with WhoopClient(api_base_url, manager, backoff_factor=0.01) as client:
        manager.access_token()  # the pair in the file: valid by its clock, expired at the server
        barrier.wait(30)
        profile = client.get_object("user_profile")
        return {"user_id": profile["user_id"], "refreshes": manager.refresh_count}
