"""The package's modules all import, and their imports only go down: no cycles, libraries at the edges.

The graph is read from the source with ``ast``: every import a module runs, at the top or inside
a function, is an edge; imports under ``if TYPE_CHECKING:`` never run and are not. A submodule's
implicit import of its own package (``__init__``) is not an edge either.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "whoop_dagster"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE
#: Scripts, not modules: ``streamlit run`` executes the dashboard app, importing it draws the page.
SCRIPTS = {"whoop_dagster.dashboard.app"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The package module that importing ``name`` runs (``pkg.mod.Thing`` → ``pkg.mod``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for statement in node.body for child in ast.walk(statement))
    return skipped


def imported_modules(module: str) -> Iterator[str]:
    """The package modules that ``module`` imports when its code runs."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = _type_checking_only(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from pkg import sub` imports the submodule `pkg.sub` when there is one.
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = _resolve(name) if name.split(".")[0] == PACKAGE else None
            if target and target != module:
                yield target


def import_graph() -> dict[str, set[str]]:
    return {module: set(imported_modules(module)) for module in MODULES}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _describe(cycles: list[list[str]], graph: dict[str, set[str]]) -> str:
    return "\n".join(
        f"{member} -> {target}" for cycle in cycles for member in cycle for target in sorted(graph[member] & set(cycle))
    )


def test_the_graph_sees_imports_inside_functions():
    assert "whoop_dagster.definitions" in import_graph()["whoop_dagster.demo"]


def test_find_cycles_reports_a_lazy_import_back():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]


def test_the_package_import_graph_has_no_cycles():
    graph = import_graph()
    cycles = find_cycles(graph)
    assert not cycles, f"import cycles:\n{_describe(cycles, graph)}"


def _third_party_roots(module: str) -> set[str]:
    """Top-level names of what ``module`` imports from outside the package."""
    tree = ast.parse(MODULES[module].read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and not n.level]
    return {name.split(".")[0] for name in names} - {PACKAGE}


@pytest.mark.parametrize(
    ("library", "may_use"),
    [("whoop_dagster.whoop_api", ()), ("whoop_dagster.emulator", ("whoop_dagster.whoop_api",))],
)
def test_the_libraries_stay_free_of_dagster_and_the_layers_above(library: str, may_use: tuple[str, ...]):
    """The client library stands alone; the emulator uses only the client's registry, never the reverse."""
    own = (library, *may_use)
    for module in (name for name in MODULES if name == library or name.startswith(f"{library}.")):
        above = {t for t in imported_modules(module) if t != PACKAGE and not t.startswith(own)}
        assert not above, f"{module} imports {sorted(above)}"
        assert not {"dagster", "dagster_dbt"} & _third_party_roots(module), f"{module} imports Dagster"


def type_checking_imports() -> list[str]:
    """The import statements under ``if TYPE_CHECKING:`` in the package, as source."""
    statements = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                statements += [ast.unparse(s) for s in node.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    return sorted(set(statements))


def test_every_module_and_every_type_only_import_resolves(tmp_path: Path):
    """One fresh interpreter imports every module (the definitions included), then runs the TYPE_CHECKING imports."""
    modules = sorted(set(MODULES) - SCRIPTS)
    code = "\n".join(
        ["import importlib", f"for name in {modules!r}:", "    importlib.import_module(name)", *type_checking_imports()]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHOOP_", "SNOWFLAKE_", "DAGSTER_CLOUD"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]


def test_ruff_bans_every_private_dagster_module():
    import dagster

    installed = {
        f"dagster.{path.stem if path.suffix == '.py' else path.name}"
        for path in Path(dagster.__file__).parent.iterdir()
        if path.name.startswith("_") and not path.name.startswith("__") and (path.suffix == ".py" or path.is_dir())
    }
    # tomllib is 3.11+: the banned-api keys are read with a pattern (one `"dagster._x".msg = ...` per line).
    pyproject = (PACKAGE_DIR.parent / "pyproject.toml").read_text()
    banned = set(re.findall(r'^"(dagster\._\w+)"\.msg = ', pyproject, flags=re.MULTILINE))
    assert installed - banned == set()


#: Code outside the package that imports from it, often inside functions (child processes,
#: benchmarks): a name moved in the package would only fail when that path runs.
CALLERS = ("whoop_dagster_tests", "benchmarks", "scripts")


def package_names_imported_by_callers() -> Iterator[tuple[str, str, str]]:
    """``(caller file, module, name)`` for every ``from whoop_dagster... import name`` outside the package."""
    root = PACKAGE_DIR.parent
    for folder in CALLERS:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
                if module.startswith(PACKAGE + ".") and node.level == 0:
                    for alias in node.names:
                        yield str(path.relative_to(root)), module, alias.name


def test_what_tests_benchmarks_and_scripts_import_exists():
    import importlib

    missing = []
    for caller, module, name in package_names_imported_by_callers():
        if module in SCRIPTS:
            continue
        imported = importlib.import_module(module)
        if not hasattr(imported, name) and f"{module}.{name}" not in MODULES:
            missing.append(f"{caller}: from {module} import {name}")
    assert missing == []
