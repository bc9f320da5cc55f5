"""CSV exports, one way for every admin list: streamed in batches (100,000 rows never sit in
memory at once) with every cell neutralised against spreadsheet formula injection.

The rule for a cell (OWASP "CSV Injection", ASVS 1.2.10):

- a number (int, Decimal or finite float, or text that is a plain number such as "-0.5",
  "+3" or "1e-3") is written as it is, so a spreadsheet reads a number it can sum: a plain
  number can run nothing;
- any other cell that starts with = + - @, tab or CR gets a leading apostrophe, which makes
  Excel, LibreOffice and Google Sheets read it as text.

Phone numbers, postcodes, member numbers and the like are text, not numbers: pass them as
`Text(value)`. "+86 138 0013 8000" starts with "+", which a spreadsheet reads as a formula
(the space is Excel's intersection operator; "+cmd|' /C calc'!A0" is the classic payload in a
phone field a customer types), so it keeps its apostrophe. A `Text` cell is never taken for a
number either, so "+8613800138000" is not turned into 8.6E+12 with its "+" lost.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from flask import Response, stream_with_context

FORMULA_LEADS = "=+-@\t\r"
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class Text(str):
    """A cell that is text even when it looks like a number (a phone, a postcode)."""

    __slots__ = ()


def _number(value: object) -> str | None:
    """The cell as a number, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    if isinstance(value, str) and not isinstance(value, Text) and PLAIN_NUMBER.fullmatch(value):
        return value
    return None


def csv_safe(value: object) -> str:
    """A cell a spreadsheet will not run as a formula (see the module's rule): numbers as
    numbers; other text starting with = + - @, tab or CR gets a leading apostrophe."""
    if value is None:
        return ""
    number = _number(value)
    if number is not None:
        return number
    text = str(value)
    if text and text[0] in FORMULA_LEADS:
        return "'" + text
    return text


def csv_response(rows: Iterable[Sequence[object]], filename: str) -> Response:
    """Stream `rows` (header first) as a CSV download. Read rows lazily, e.g. from a query
    with `execution_options(yield_per=500)`; every cell goes through `csv_safe`."""

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff"  # byte-order mark: spreadsheets then read the file as UTF-8 (Chinese names)
        for row in rows:
            writer.writerow([csv_safe(v) for v in row])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}",
                             "Cache-Control": "no-store"})
