"""i18n fixtures: the catalogs as Babel reads them, the compiled .mo files made up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
LOCALES = ("en", "zh_Hans")


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def read_catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def compile_catalogs() -> None:
    """Compile each .po whose .mo is missing or older (what `make translations` does)."""
    for locale in LOCALES:
        po = po_path(locale)
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            subprocess.run(
                [sys.executable, "-m", "babel.messages.frontend", "compile", "-i", str(po),
                 "-o", str(mo)],
                check=True, capture_output=True,
            )


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs() -> None:
    compile_catalogs()


@pytest.fixture(scope="session")
def zh_catalog():
    return read_catalog(po_path("zh_Hans"))


@pytest.fixture(scope="session")
def en_catalog():
    return read_catalog(po_path("en"))


@pytest.fixture(scope="session")
def extracted(tmp_path_factory):
    """The messages the code marks today, extracted afresh (as `make messages` does)."""
    out = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(out), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    return read_catalog(out)


@pytest.fixture(scope="session")
def english_patterns(zh_catalog):
    from tests.i18n.pages import english_patterns as patterns

    return patterns(zh_catalog)
