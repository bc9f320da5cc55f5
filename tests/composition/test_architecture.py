"""The shape of app/ (docs/ARCHITECTURE.md): imports go one way, lower packages never import
higher ones, and no sibling packages or modules import each other in a cycle. The contracts live
in pyproject.toml; the only exceptions they name are the adapters (web/, cli.py) and models, and
an exception that no import needs any more fails the check (import-linter's unmatched-ignore
error)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")

    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "5 kept, 0 broken" in result.stdout, result.stdout[-2000:]
