"""Fixtures of the WHOOP client tests: emulators on loopback and a fakesnow server."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from whoop_dagster_tests.support.snowflake import fakesnow_server
from whoop_dagster_tests.whoop_api.emulated import FROZEN_NOW


@pytest.fixture(scope="session")
def fakesnow_kwargs() -> Iterator[dict[str, Any]]:
    # A database of our own: fakesnow servers in one process share their state.
    with fakesnow_server(database="WHOOP_API_TESTS") as kwargs:
        yield kwargs


@pytest.fixture
def fakesnow_connect(fakesnow_kwargs) -> Callable[..., Any]:
    """Open a new Snowflake connector connection to the fakesnow server (one per call)."""
    import snowflake.connector

    def connect(**overrides: Any) -> Any:
        return snowflake.connector.connect(**{**fakesnow_kwargs, "schema": "PUBLIC", **overrides})

    return connect


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., Any]]:
    """Start emulators on loopback (stopped after the test): ``start_emulator(days=40, ...)``.

    Defaults: a frozen clock (``FROZEN_NOW``), 30 days of one member's data.
    """
    from whoop_dagster.emulator import EmulatorConfig, run_emulator

    with contextlib.ExitStack() as stack:

        def start(**overrides: Any) -> Any:
            config = EmulatorConfig(**{"seed": 7, "days": 30, "users": 1, "now": FROZEN_NOW, **overrides})
            return stack.enter_context(run_emulator(config, port=0))

        yield start


@pytest.fixture
def emu(start_emulator) -> Any:
    """A running emulator with the default test configuration."""
    return start_emulator()
