"""Dagster resources, chosen by the deployment: the WHOOP API, the warehouse and its pandas IO manager.

Each deployment's integrations are imported only when that deployment builds its resources.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from whoop_dagster import environment
from whoop_dagster.warehouse import WarehouseResource

if TYPE_CHECKING:
    from whoop_dagster.emulator import Emulator
    from whoop_dagster.whoop_api.auth import TokenManager
    from whoop_dagster.whoop_api.client import WhoopClient

logger = logging.getLogger(__name__)

#: Resource key of the pandas IO manager that stores DataFrame assets as warehouse tables: schema from
#: the asset key's prefix, table from its name (``ml/recovery_forecast`` → ``ml.recovery_forecast``).
WAREHOUSE_IO_MANAGER_KEY = "warehouse_io_manager"

DEFAULT_API_BASE_URL = "https://api.prod.whoop.com/developer"
DEFAULT_OAUTH_BASE_URL = "https://api.prod.whoop.com"


class WhoopApiResource(dg.ConfigurableResource):
    """The WHOOP API v2 — the real one, or in demo mode the built-in emulator on loopback.

    Demo mode (no ``client_id``) starts one emulator per process, obtains tokens
    through the emulator's real OAuth flow and keeps them in memory; everything
    else (HTTP, pagination, retries, rate limits) is the same client code.
    """

    api_base_url: str = DEFAULT_API_BASE_URL
    oauth_base_url: str = DEFAULT_OAUTH_BASE_URL
    client_id: str | None = Field(default=None, description="OAuth client id; none means demo mode.")
    client_secret: str | None = None
    redirect_uri: str = "https://localhost:8765/callback"
    refresh_token: str | None = Field(default=None, description="Seeds an empty token store, nothing more.")
    credential_store: str = Field(default="file", description="'file' locally, 'warehouse' in deployments.")
    token_store_path: str | None = None
    requests_per_minute: int = 100
    timeout_seconds: float = 30.0
    max_retries: int = Field(default=5, description="Retries of connection errors, timeouts and 5xx per request.")
    demo_seed: int = 7
    demo_days: int = 730
    warehouse: WarehouseResource | None = None

    @property
    def demo_mode(self) -> bool:
        return not self.client_id

    @contextmanager
    def open_client(self) -> Iterator[WhoopClient]:
        """A connected :class:`~whoop_dagster.whoop_api.client.WhoopClient`, closed afterwards."""
        from whoop_dagster.whoop_api.client import WhoopClient
        from whoop_dagster.whoop_api.rate_limit import shared_rate_limiter

        if self.demo_mode:
            emulator, tokens = _demo_session(self.demo_seed, self.demo_days)
            api_base_url, app_key = emulator.api_base_url, emulator.client_id
        else:
            tokens = self._token_manager()
            api_base_url, app_key = self.api_base_url, self.client_id or ""
        client = WhoopClient(
            api_base_url,
            tokens,
            rate_limiter=shared_rate_limiter(api_base_url, app_key, self.requests_per_minute),
            timeout=(5.0, self.timeout_seconds),
            max_retries=self.max_retries,
        )
        try:
            yield client
        finally:
            client.close()

    def _token_manager(self) -> TokenManager:
        from whoop_dagster.whoop_api.auth import OAuthApp, TokenManager
        from whoop_dagster.whoop_api.token_store import FileTokenStore, WarehouseTokenStore

        app = OAuthApp(
            client_id=self.client_id or "",
            client_secret=self.client_secret or "",
            redirect_uri=self.redirect_uri,
            oauth_base_url=self.oauth_base_url,
        )
        if self.credential_store == "warehouse":
            if self.warehouse is None:
                raise ValueError("credential_store='warehouse' needs the `warehouse` resource")
            store = WarehouseTokenStore(
                connect=self.warehouse.dbapi_connection,
                schema="raw",
                app_key=app.client_id,  # one row per OAuth app
                paramstyle=self.warehouse.paramstyle,
                seed_refresh_token=self.refresh_token,
            )
        else:
            path = self.token_store_path or str(environment.token_store_path())
            store = FileTokenStore(path, seed_refresh_token=self.refresh_token)
        return TokenManager(app, store)


# --- demo mode -------------------------------------------------------------------------------

_demo_lock = threading.Lock()
_demo_sessions: dict[tuple[int, int], tuple[Emulator, TokenManager]] = {}
_demo_exit_stack = ExitStack()
atexit.register(_demo_exit_stack.close)


def _demo_session(seed: int, days: int) -> tuple[Emulator, TokenManager]:
    """This process's emulator and token manager for ``(seed, days)``, started on first use.

    The emulator's data are a pure function of the seed and the clock, so every
    process (run workers, the sensor daemon) serves the same records.
    """
    with _demo_lock:
        if (seed, days) not in _demo_sessions:
            from whoop_dagster.emulator import EmulatorConfig, run_emulator
            from whoop_dagster.whoop_api.auth import OAuthApp, TokenManager
            from whoop_dagster.whoop_api.token_store import MemoryTokenStore

            emulator = _demo_exit_stack.enter_context(run_emulator(EmulatorConfig(seed=seed, days=days), port=0))
            app = OAuthApp(
                client_id=emulator.client_id,
                client_secret=emulator.client_secret,
                redirect_uri=emulator.redirect_uri,
                oauth_base_url=emulator.oauth_base_url,
            )
            store = MemoryTokenStore(seed_refresh_token=emulator.issue_refresh_token())
            logger.info("WHOOP demo mode: serving the built-in emulator at %s", emulator.api_base_url)
            _demo_sessions[(seed, days)] = (emulator, TokenManager(app, store))
        return _demo_sessions[(seed, days)]


# --- the environment switch ------------------------------------------------------------------


def build_resources(deployment: environment.Deployment | None = None) -> dict[str, Any]:
    """The code location's resources: ``warehouse``, ``warehouse_io_manager`` and ``whoop``."""
    deployment = deployment or environment.current_deployment()
    warehouse = build_warehouse(deployment)
    return {
        "warehouse": warehouse,
        WAREHOUSE_IO_MANAGER_KEY: build_warehouse_io_manager(deployment),
        "whoop": build_whoop_api(warehouse, deployment),
    }


def build_warehouse(deployment: environment.Deployment | None = None) -> WarehouseResource:
    """DuckDB locally; Snowflake (credentials from env vars) in branch and prod."""
    deployment = deployment or environment.current_deployment()
    if not deployment.uses_snowflake:
        from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
        from whoop_dagster.warehouse.duckdb_lock import lock_timeout_seconds

        return DuckDBWarehouse(path=str(environment.duckdb_path()), lock_timeout_seconds=lock_timeout_seconds())

    from whoop_dagster.warehouse.snowflake import SnowflakeWarehouse

    return SnowflakeWarehouse(**snowflake_resource_args())


def build_warehouse_io_manager(deployment: environment.Deployment | None = None) -> dg.ConfigurableIOManagerFactory:
    """The pandas IO manager of the deployment's warehouse (resource key ``warehouse_io_manager``).

    dagster-duckdb-pandas on the local DuckDB file (waiting for its lock like the warehouse);
    dagster-snowflake-pandas (``write_pandas``) on the deployment's Snowflake database. Either
    replaces an unpartitioned asset's whole table on each materialization.
    """
    deployment = deployment or environment.current_deployment()
    if not deployment.uses_snowflake:
        from whoop_dagster.warehouse.duckdb_io_manager import DuckDBWarehouseIOManager
        from whoop_dagster.warehouse.duckdb_lock import lock_timeout_seconds

        return DuckDBWarehouseIOManager(
            database=str(environment.duckdb_path()), lock_timeout_seconds=lock_timeout_seconds()
        )

    from dagster_snowflake_pandas import SnowflakePandasIOManager

    return SnowflakePandasIOManager(**snowflake_resource_args())


def snowflake_resource_args() -> dict[str, Any]:
    """Arguments of :class:`SnowflakeWarehouse` (``SnowflakeResource``'s settings) from ``SNOWFLAKE_*`` env vars.

    Password or key-pair auth, whichever is set; ``SNOWFLAKE_HOST``/``SNOWFLAKE_PORT``/
    ``SNOWFLAKE_PROTOCOL`` point the connector elsewhere (the fakesnow server in CI).
    Secrets stay ``EnvVar``s, resolved by Dagster at run time, never logged.
    """
    import os

    args: dict[str, Any] = {
        "account": dg.EnvVar("SNOWFLAKE_ACCOUNT"),
        "user": dg.EnvVar("SNOWFLAKE_USER"),
        "database": environment.snowflake_database(),
    }
    for key, variable in (("role", "SNOWFLAKE_ROLE"), ("warehouse", "SNOWFLAKE_WAREHOUSE")):
        if os.getenv(variable):
            args[key] = dg.EnvVar(variable)
    if os.getenv("SNOWFLAKE_PRIVATE_KEY"):
        args["private_key"] = dg.EnvVar("SNOWFLAKE_PRIVATE_KEY")
        if os.getenv("SNOWFLAKE_PRIVATE_KEY_PASSWORD"):
            args["private_key_password"] = dg.EnvVar("SNOWFLAKE_PRIVATE_KEY_PASSWORD")
    else:
        args["password"] = dg.EnvVar("SNOWFLAKE_PASSWORD")
    extra = {}
    if os.getenv("SNOWFLAKE_HOST"):
        extra["host"] = os.environ["SNOWFLAKE_HOST"]
    if os.getenv("SNOWFLAKE_PORT"):
        extra["port"] = int(os.environ["SNOWFLAKE_PORT"])
    if os.getenv("SNOWFLAKE_PROTOCOL"):
        extra["protocol"] = os.environ["SNOWFLAKE_PROTOCOL"]
    if extra:
        args["additional_snowflake_connection_args"] = extra
    return args


def build_whoop_api(warehouse: WarehouseResource, deployment: environment.Deployment | None = None) -> WhoopApiResource:
    """The WHOOP API resource: the emulator in demo mode, else the configured OAuth app."""
    import os

    deployment = deployment or environment.current_deployment()
    if environment.is_demo_mode():
        return WhoopApiResource(
            demo_seed=int(os.getenv("WHOOP_DEMO_SEED", "7")),
            demo_days=int(os.getenv("WHOOP_DEMO_DAYS", "730")),
        )
    return WhoopApiResource(
        api_base_url=os.getenv("WHOOP_API_BASE_URL", DEFAULT_API_BASE_URL),
        oauth_base_url=os.getenv("WHOOP_OAUTH_BASE_URL", DEFAULT_OAUTH_BASE_URL),
        client_id=dg.EnvVar("WHOOP_CLIENT_ID"),
        client_secret=dg.EnvVar("WHOOP_CLIENT_SECRET"),
        redirect_uri=os.getenv("WHOOP_REDIRECT_URI", "https://localhost:8765/callback"),
        refresh_token=dg.EnvVar("WHOOP_REFRESH_TOKEN") if os.getenv("WHOOP_REFRESH_TOKEN") else None,
        credential_store="warehouse" if deployment.uses_snowflake else "file",
        token_store_path=str(environment.token_store_path()),
        requests_per_minute=int(os.getenv("WHOOP_REQUESTS_PER_MINUTE", "100")),
        warehouse=warehouse,
    )
