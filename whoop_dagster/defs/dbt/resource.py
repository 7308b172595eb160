"""The ``dbt`` resource: where the dbt project is, which target to run, and how to run dbt.

A plain Dagster resource, so that the code location loads without dagster-dbt: the
dagster-dbt ``DbtCliResource`` that actually runs dbt is created in the step
(:mod:`whoop_dagster.defs.dbt.execution`).
"""

from __future__ import annotations

import dagster as dg

from whoop_dagster.defs.dbt.project import DBT_PROJECT_DIR


class WhoopDbtResource(dg.ConfigurableResource):
    """Runs the dbt project ``whoop_dbt`` for one dbt target (``local``, ``branch``, ``prod`` or ``ci``)."""

    target: str
    project_dir: str = str(DBT_PROJECT_DIR)
    #: The ``dbt`` executable (:func:`whoop_dagster.defs.dbt.project.dbt_executable`).
    dbt_executable: str = "dbt"
