"""Environment variables set for a block of code in this process, then restored."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def environment_variables(settings: Mapping[str, str]) -> Iterator[None]:
    """``settings`` in ``os.environ`` for the block, then each variable as before (unset if it was).

    For code that reads its settings from the environment itself (dbt's profile, the code
    location's definitions) and runs in the test process, where pytest's ``monkeypatch`` is not at hand.
    """
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
