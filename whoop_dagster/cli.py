"""The ``whoop-dagster`` command: ``demo``, ``emulator``, ``auth`` and ``doctor``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from whoop_dagster.environment import DEMO_DAYS

logger = logging.getLogger("whoop_dagster")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``whoop-dagster`` console script."""
    parser = argparse.ArgumentParser(prog="whoop-dagster", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the whole pipeline for the last N days into DAGSTER_HOME")
    demo.add_argument("--days", type=int, default=DEMO_DAYS, help=f"days of history to load (default {DEMO_DAYS})")
    demo.add_argument("--multiprocess", action="store_true", help="one process per step, as `dagster dev` runs")

    emulator = commands.add_parser("emulator", help="serve the WHOOP API emulator on loopback")
    emulator.add_argument("--port", type=int, default=8787)
    emulator.add_argument("--days", type=int, default=730, help="days of synthetic history")
    emulator.add_argument("--seed", type=int, default=7)
    emulator.add_argument("--users", type=int, default=1)

    auth = commands.add_parser("auth", help="connect a real WHOOP account (OAuth authorization code flow)")
    auth.add_argument("--port", type=int, default=8765, help="loopback port of the redirect URI")
    auth.add_argument("--code", help="paste the `code` from the redirect instead of receiving it")
    auth.add_argument("--state", help="with --code: the `state` printed with the authorization URL")

    commands.add_parser("doctor", help="check settings, WHOOP access, warehouse, dbt manifest and Dagster instance")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)  # our own progress messages; libraries stay at WARNING
    if args.command == "demo":
        from whoop_dagster.demo import run_demo

        return run_demo(days=args.days, multiprocess=args.multiprocess)
    if args.command == "doctor":
        from whoop_dagster.doctor import run_doctor

        return run_doctor()
    if args.command == "emulator":
        from whoop_dagster.emulator import EmulatorConfig, serve

        serve(EmulatorConfig(seed=args.seed, days=args.days, users=args.users), port=args.port)
        return 0
    from whoop_dagster.auth_cli import run_auth

    return run_auth(port=args.port, code=args.code, state=args.state)


if __name__ == "__main__":
    sys.exit(main())
