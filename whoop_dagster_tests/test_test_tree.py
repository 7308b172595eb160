"""The test tree mirrors the package, and test names read as sentences that fit on a line."""

from __future__ import annotations

import ast
from pathlib import Path

from whoop_dagster_tests.conftest import LONGEST_FIRST

TESTS_ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = TESTS_ROOT.parent / "whoop_dagster"
#: The longest test name (``test_`` included) that still fits on a line in reports and tracebacks.
MAX_TEST_NAME = 70

#: Test directories with no package directory of their own, and why.
TEST_ONLY_AREAS = {
    "support": "helpers (emulator, clock, shared warehouses) that the tests of several areas use",
    "faults": "the fault suite: whole-pipeline scenarios that cross every area",
    "e2e": "the UI and README check against the state `make run` leaves (`make e2e`)",
}


def _test_directories() -> list[Path]:
    """Every directory under the test root that holds Python files, relative to the root."""
    return sorted(
        {path.parent.relative_to(TESTS_ROOT) for path in TESTS_ROOT.rglob("*.py") if path.parent != TESTS_ROOT}
    )


def test_every_test_directory_mirrors_a_package_directory():
    unmirrored = [
        directory.as_posix()
        for directory in _test_directories()
        if directory.parts[0] not in TEST_ONLY_AREAS and not (PACKAGE_DIR / directory).is_dir()
    ]
    assert not unmirrored, f"test directories with no whoop_dagster/ counterpart: {unmirrored}"


def test_the_test_only_areas_exist_and_have_no_package_directory():
    for area in TEST_ONLY_AREAS:
        assert (TESTS_ROOT / area).is_dir(), area
        assert not (PACKAGE_DIR / area).exists(), f"{area}/ now mirrors a package directory: drop it from the list"


def test_every_module_run_longest_first_exists():
    missing = [module for module in LONGEST_FIRST if not (TESTS_ROOT / module).is_file()]
    assert not missing, f"LONGEST_FIRST names modules that are not there: {missing}"


def _test_names(path: Path) -> list[str]:
    """Names of the test functions (module-level, nested or in classes) that ``path`` defines."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    ]


def test_every_test_name_fits_in_seventy_characters():
    too_long = [
        f"{path.relative_to(TESTS_ROOT).as_posix()}::{name} ({len(name)})"
        for path in sorted(TESTS_ROOT.rglob("*.py"))
        for name in _test_names(path)
        if len(name) > MAX_TEST_NAME
    ]
    assert not too_long, f"test names longer than {MAX_TEST_NAME} characters: {too_long}"
