"""The reports' colours, one home for HTML, PDF, XLSX and the email's chart.

Every text colour meets WCAG 2.1 AA's 4.5:1 on white (and on its badge, white text on
the badge colour); chart marks meet 3:1 against white, and slices side by side are parted by a white
edge. The figures
are checked by `contrast` in the tests; a colour changed here changes every format.
"""

from __future__ import annotations

INK = "#262626"  # body text, 15.1:1
NAVY = "#1f4e79"  # headings, the agency's line, 8.7:1
BLUE = "#2e75b6"  # rules and bars, 4.9:1
MUTED = "#595959"  # notes, footers, "no data", 7.0:1
GOOD = "#38761d"  # Healthy, achieved, 5.6:1
WATCH = "#7a5a00"  # Watch, at risk (amber, dark enough for text), 6.4:1
BAD = "#a61c00"  # At risk, off track, 7.5:1
STATEWIDE = "#a0430a"  # the statewide line and its label (orange), 6.4:1
RULE = "#d9d9d9"  # borders (decoration, not text)

LINES = (NAVY, STATEWIDE)  # the agency (solid), statewide (dashed)
# tower and service slices: each 4.5:1 against white, and drawn with a white edge, so a
# slice is told from its neighbour by the edge (WCAG 1.4.11) as well as by its colour
SERIES = ("#1f4e79", "#2e75b6", "#548235", "#7a5a00", "#7f6084", "#a0430a", "#3b6e8f",
          "#5b5b5b")

COLORS = {"ink": INK, "navy": NAVY, "blue": BLUE, "muted": MUTED, "good": GOOD,
          "watch": WATCH, "bad": BAD, "statewide": STATEWIDE, "rule": RULE}


def luminance(color: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str = "#ffffff") -> float:
    """WCAG's contrast ratio of two colours."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
