"""Every test in this folder needs PostgreSQL."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/pg/" in str(item.fspath):
            item.add_marker(pytest.mark.pg)
