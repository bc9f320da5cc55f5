"""Heavy libraries imported at their first use, not at start-up.

`numpy` here stands for the numpy module: the analytics and campaign modules use it as `np`,
but the shop's pages never do, and importing it at start-up cost every web worker about
16 MB (bench/README.md). The first attribute read imports it; after that a read costs one
extra function call.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class LazyModule:
    """Stands for the module `name`, importing it when an attribute is first read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str):
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{' (imported)' if self._module else ''}>"


numpy = LazyModule("numpy")
