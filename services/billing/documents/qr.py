"""QR codes of payment strings (segno), error correction M as both SPAYD and EPC ask for print.

One fixed data mask. Any of the eight masks makes a valid symbol that every reader decodes; choosing the "best" one
means scoring all eight in pure Python, which took 9–11 ms of the ~12 ms a code cost, as much as drawing the
rest of the invoice. The checkerboard mask spreads dark and light modules evenly over the data that follows error
correction coding, which already looks random; the tests decode every printed code with zbar.

The PDF draws the modules as vector rectangles (`dark_runs`): sharper in print and cheaper than embedding a
picture. PNG is for e-mails and pages that want an image, SVG for HTML pages.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from functools import lru_cache

import segno

QUIET_ZONE = 4  # modules of white border the QR specification asks for
MASK = 0  # (row + column) mod 2 == 0


@lru_cache(maxsize=64)
def make(text: str) -> segno.QRCode:
    """The code of `text` at level M exactly (not boosted: a fixed level keeps the printed size predictable)."""
    return segno.make(text, error="m", boost_error=False, micro=False, mask=MASK)


def png(text: str, scale: int = 4) -> bytes:
    out = io.BytesIO()
    make(text).save(out, kind="png", scale=scale, border=QUIET_ZONE)
    return out.getvalue()


def svg(text: str, scale: int = 4, title: str = "") -> str:
    """An inline SVG element (no XML declaration), sized in pixels, with `title` for screen readers."""
    out = io.BytesIO()
    make(text).save(
        out, kind="svg", scale=scale, border=QUIET_ZONE, xmldecl=False, svgns=True, title=title or None, nl=False
    )
    return out.getvalue().decode()


def dark_runs(text: str) -> Iterator[tuple[int, int, int]]:
    """(row, first column, length) of every horizontal run of dark modules, without the quiet zone: row 0 is the top."""
    for row, modules in enumerate(make(text).matrix):
        start = None
        for column, dark in enumerate((*modules, 0)):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                yield row, start, column - start
                start = None


def size(text: str) -> int:
    """Modules per side, without the quiet zone."""
    return make(text).symbol_size(scale=1, border=0)[0]
