"""Fill the English catalog with its own message ids (English is the source language).

Run by `make messages` after `pybabel update`: every msgid gets an identical msgstr (both plural
forms for ngettext), so the en catalog is complete and an edited English wording can later be
set here without touching the code. Entries already translated are left alone.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "translations/en/LC_MESSAGES/messages.po"


def main() -> None:
    with PO.open("rb") as f:
        catalog = read_po(f)
    for message in catalog:
        if not message.id:
            continue
        fuzzy = message.fuzzy  # a guess from a similar msgid: never right for the source text
        if isinstance(message.id, tuple):
            if fuzzy or not all(message.string):
                message.string = tuple(message.id)
        elif fuzzy or not message.string:
            message.string = message.id
        message.flags.discard("fuzzy")
        message.previous_id = []
    with PO.open("wb") as f:
        write_po(f, catalog, width=76)


if __name__ == "__main__":
    main()
