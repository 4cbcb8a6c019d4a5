"""Where rigctl speaks and what it exits with: the contract scripts rely on.

Exit codes: 0 done; 1 refused or failed (reason on stderr); 2 usage or
config error; 3 daemon unreachable. Every command writes through these two
consoles so that stdout stays data and stderr stays complaints.

Names come from outside the rig (a stick's file names, a film's tags, a
place typed on a phone): every one that rigctl prints goes through
:func:`clean`, so an escape sequence in a file name is shown, never obeyed
by the technician's terminal. Text printed through rich is printed as
``Text`` or with ``markup=False``, so ``[link=…]`` in a name is not markup.

Widths: a terminal's own (or ``$COLUMNS``). Output to a pipe or a file has
no width, so its lines are never cut for one (rich would assume 80). A
table's ids and names, which a technician types back, are never cut
either: :func:`listing` gives them their whole width, and stacks each row
under its id when the screen is too narrow (a phone over SSH). Colours are
rich's: none for a pipe, none with ``$NO_COLOR``.
"""

from __future__ import annotations

import json
import os
import re
import sys

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

#: the width of output that goes to no terminal: wide enough that no table is cut
UNCUT = 1000


def _width(stream) -> int | None:
    """None (rich finds the terminal's width or reads $COLUMNS), or UNCUT for a pipe or a file."""
    if os.environ.get("COLUMNS"):
        return None
    try:
        return None if stream.isatty() else UNCUT
    except (AttributeError, ValueError):
        return None


out = Console(highlight=False, soft_wrap=True, width=_width(sys.stdout))
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_width(sys.stderr))

#: C0 (with ESC, BEL, CR, LF), DEL, C1 (8-bit CSI, OSC…), and the marks that
#: reorder a line (bidi overrides and isolates), which can hide what a name says
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _shown(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)         # the Unicode control picture: ␛ for ESC, ␇ for BEL
    return "\u2421" if code == 0x7F else "?"


def clean(value) -> str:
    """``value`` as text a terminal shows as it is: control characters replaced."""
    return CONTROL.sub(_shown, "" if value is None else str(value))


def cleaned(value, style: str = "") -> Text:
    """A table cell or a piece of a line: cleaned, never read as rich markup."""
    return Text(clean(value), style=style)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def dumps(value) -> str:
    """JSON for a terminal or a script: json escapes C0 itself; DEL, C1 and bidi marks too."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    # these characters only ever occur inside JSON strings, where \\uXXXX means the same
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


#: the least a column that may wrap gets, with its padding
NARROW = 10


def listing(headers: list[str], rows: list[list], keys: tuple[int, ...] = (0,)) -> RenderableType:
    """A table whose ``keys`` columns (ids, file names) are shown whole, never cut.

    The other columns fold when the screen is narrow. When even that does
    not fit, each row becomes a block: its keys on a line of their own,
    then the other cells as "header value" pairs, indented.
    """
    cells = [[c if isinstance(c, Text) else cleaned(c) for c in row] for row in rows]
    widths = {k: max([len(headers[k])] + [len(r[k].plain) for r in cells]) for k in keys}
    need = sum(w + 2 for w in widths.values()) + NARROW * (len(headers) - len(keys))
    if cells and need > out.width:
        blocks = []
        for r in cells:
            blocks.append(Text("  ").join(r[k] for k in keys))
            blocks.append(Text("  ") + Text("  ").join(
                Text(f"{headers[i]} ", style="dim") + c for i, c in enumerate(r) if i not in keys))
        return Group(*blocks)
    table = Table(*headers, box=None)
    for i, column in enumerate(table.columns):
        if i in keys:
            column.no_wrap, column.min_width = True, widths[i]
        else:
            column.overflow = "fold"
    for r in cells:
        table.add_row(*r)
    return table
