"""The catalogs (issue 6): every marked string is translated, placeholders survive translation,
messages.pot is current, and the code and templates leave no user-facing text unmarked."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.i18n.conftest import ROOT, po_path, read_catalog

PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([diouxXeEfFgGcrs%])")


def placeholders(text: str) -> list[str]:
    """Sorted `%(name)x` placeholders and `%%` escapes of a message."""
    return sorted(f"{name}:{kind}" for name, kind in PLACEHOLDER.findall(text))


def _ids(catalog) -> set:
    return {m.id for m in catalog if m.id}


def _untranslated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return message.fuzzy or not all(s and s.strip() for s in strings)


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_every_marked_string_is_translated(extracted, locale):
    catalog = read_catalog(po_path(locale))
    missing = sorted(str(m.id) for m in extracted if m.id and catalog.get(m.id) is None)
    untranslated = sorted(
        str(m.id) for m in catalog if m.id and _untranslated(m)
        and m.id in _ids(extracted)
    )
    assert not missing, f"not in the {locale} catalog (run `make messages`): {missing[:20]}"
    assert not untranslated, f"empty or fuzzy in {locale}: {untranslated[:20]}"


def test_messages_pot_is_current(extracted):
    committed = read_catalog(ROOT / "messages.pot")
    new = sorted(str(i) for i in _ids(extracted) - _ids(committed))
    gone = sorted(str(i) for i in _ids(committed) - _ids(extracted))
    assert not new and not gone, (
        f"messages.pot is stale (run `make messages`): +{new[:10]} -{gone[:10]}"
    )


def test_chinese_has_one_plural_form(zh_catalog):
    assert zh_catalog.num_plurals == 1
    for m in zh_catalog:
        if m.id and isinstance(m.id, tuple):
            assert len(m.string) == 1, m.id


def test_placeholders_survive_translation(zh_catalog, en_catalog):
    problems = []
    for catalog in (zh_catalog, en_catalog):
        for m in catalog:
            if not m.id:
                continue
            if isinstance(m.id, tuple):
                # English: form i matches msgid i. Chinese has one form for every count: it
                # must name what the plural form names.
                forms = [m.id[min(i, 1)] if catalog.num_plurals > 1 else m.id[1]
                         for i in range(len(m.string))]
                problems += [(catalog.locale, m.id, s) for s, f in zip(m.string, forms, strict=True)
                             if s and placeholders(s) != placeholders(f)]
                continue
            else:
                wanted = placeholders(m.id)
                got = [placeholders(m.string)] if m.string else []
            problems += [(catalog.locale, m.id, g) for g in got if g != wanted]
    assert not problems, problems[:10]


def test_babel_checks_pass(zh_catalog):
    errors = [(m.id, [str(e) for e in errs]) for m, errs in zh_catalog.check() if errs]
    assert not errors, errors[:10]


def test_translations_are_chinese_not_copies(zh_catalog):
    """A msgstr identical to its English msgid is a missed translation, bar names and
    abbreviations (ISBN, CSV, NPS, R F M...)."""
    same_ok = {"Message-ID"}
    copies = [m.id for m in zh_catalog if m.id and not isinstance(m.id, tuple)
              and m.string == m.id and m.id not in same_ok
              and re.search(r"[a-z]{2,}", PLACEHOLDER.sub("", m.id))]
    assert not copies, copies


# ---------------------------------------------------------------- unmarked text

TEMPLATES = ROOT / "templates"
JINJA = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}", re.S)
ENTITY = re.compile(r"&#?\w+;")
TAG = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->|<[^>]*>", re.S | re.I)
TEXT_ATTR = re.compile(r'\b(?:placeholder|title|alt|aria-label)="([^"{]*[A-Za-z][^"{]*)"')
WORD = re.compile(r"[A-Za-z]{2,}")
# Words that are the same in both languages (names, formats, symbols).
ALLOWED = {"CC", "BY", "SA", "CSV", "ISBN", "HTML", "SMTP", "UTC", "nbsp", "middot", "rsaquo",
           "laquo", "raquo", "mdash", "ndash", "hellip", "times", "copy", "amp", "lt", "gt",
           "quot"}


BODY_CLASS = re.compile(r"{%\s*block body_class\s*%}.*?{%\s*endblock\s*%}", re.S)


def _unmarked_template_text(path: Path) -> list[str]:
    source = BODY_CLASS.sub(" ", path.read_text(encoding="utf-8"))
    found = [m.group(1) for m in TEXT_ATTR.finditer(source)]
    text = ENTITY.sub(" ", TAG.sub(" ", JINJA.sub(" ", source)))
    if path.suffix == ".txt":
        text = JINJA.sub(" ", source)
    for chunk in text.split("\n"):
        words = [w for w in WORD.findall(chunk) if w not in ALLOWED]
        if words:
            found.append(chunk.strip())
    return found


def test_templates_have_no_unmarked_text():
    problems = {}
    for path in sorted(TEMPLATES.rglob("*")):
        if path.suffix in (".html", ".txt"):
            found = _unmarked_template_text(path)
            if found:
                problems[str(path.relative_to(ROOT))] = found
    assert not problems, problems


MESSAGE_CALLS = {"flash", "ValidationError", "abort"}
# Messages no page shows (the view answers 404 on this error): path, text.
NEVER_SHOWN = {("app/mail/mail_log.py", "No such message.")}


def _domain_errors() -> set[str]:
    """Names of the DomainError family (their message is shown to the user), every module of
    the app imported first."""
    from app import create_app
    from app.core.errors import DomainError
    from config import TestConfig

    create_app(TestConfig)
    names, todo = set(), [DomainError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


def _literal_strings_passed_to_user(tree: ast.AST, domain_errors: set[str]):
    """String literals handed straight to flash(), abort(), ValidationError() or a DomainError."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if name not in MESSAGE_CALLS and name not in domain_errors:
            continue
        for arg in node.args[:2]:
            if (isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                    and re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}", arg.value)):
                yield node.lineno, arg.value


def test_python_user_messages_are_marked():
    problems = []
    domain_errors = _domain_errors()
    assert "NotFound" in domain_errors
    for path in sorted((ROOT / "app").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for lineno, value in _literal_strings_passed_to_user(tree, domain_errors):
            if (str(path.relative_to(ROOT)), value) not in NEVER_SHOWN:
                problems.append(f"{path.relative_to(ROOT)}:{lineno}: {value!r}")
    assert not problems, problems
