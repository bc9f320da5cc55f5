"""The header's category bar fits at every width without a script (issue 22).

Each link is shown in the bar from the container width at which it fits, estimated from its
name (generously: Latin letters ~8 px, capitals ~10 px, CJK characters ~16 px at the bar's
14.7 px font), and rounded up to the stylesheet's 40 px steps (`c-<width>` classes:
static/css/site.css hides a link below its width with a container query; `m-<width>` shows it
in the "More" menu there).
An estimate that is a little off only wraps a link onto a second row: never a horizontal
scroll, never a link out of reach.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

STEP = 40
SMALLEST = 240
LARGEST = 1160  # the header's .wrap is 1180 px wide at most: every link fits at 1160
GAP = 18.0
MORE = 96.0  # the "More" button and its gap
PADDING = 4.0


def text_width(text: str) -> float:
    """A generous estimate of `text`'s width in px in the bar's font."""
    width = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            width += 16.0
        elif char.isupper() or char in "mwMW@":
            width += 10.0
        elif char == " ":
            width += 4.5
        else:
            width += 7.8
    return width + PADDING


def _step(width: float) -> int:
    return min(LARGEST, max(SMALLEST, int(math.ceil(width / STEP) * STEP)))


def thresholds(names: Sequence[str]) -> tuple[list[int], int]:
    """(per link, the narrowest bar width at which it shows in the bar; the width from which
    every link shows and "More" is not needed). Links show in order: never a later one before
    an earlier one."""
    if not names:
        return [], SMALLEST
    total = 0.0
    needs: list[int] = []
    for i, name in enumerate(names):
        total += text_width(name) + (GAP if i else 0.0)
        last = i == len(names) - 1
        need = _step(total if last else total + MORE)
        needs.append(max(need, needs[-1]) if needs else need)
    return needs, needs[-1]
