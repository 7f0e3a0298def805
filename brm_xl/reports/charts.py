"""Chart geometry for the reports' inline SVG: pure arithmetic, drawn by the templates.

Drawing SVG directly costs microseconds where a plotting library costs half a second a
report, and the templates keep the look in the office's hands.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from brm_xl.reports.palette import LINES, SERIES

PALETTE = list(SERIES)


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def stacked_comparison(components: Sequence[tuple[str, Decimal]], charged: Decimal,
                       width: int = 640, bar: int = 34) -> dict[str, Any]:
    """Two horizontal bars: what running it alone would cost (stacked by component) and
    what the office charged."""
    left, right = 110, 48
    total = float(sum((v for _, v in components), Decimal(0)))
    top = nice_max(max(total, float(charged), 1.0))
    scale = (width - left - right) / top
    x = float(left)
    segments = []
    for i, (label, amount) in enumerate(components):
        w = float(amount) * scale
        segments.append({"x": round(x, 1), "w": round(w, 1), "label": label,
                         "color": PALETTE[i % len(PALETTE)], "amount": amount})
        x += w
    ticks = [{"x": round(left + top * f * scale, 1), "value": top * f} for f in (0, .25, .5, .75, 1)]
    legend_rows = (len(segments) + 3) // 4
    figures = [[label, amount] for label, amount in components] + [
        ["On your own", Decimal(str(total)).quantize(Decimal("0.01"))], ["Charged by us", charged]]
    return {"width": width, "height": 2 * bar + 56 + 13 * legend_rows, "left": left, "bar": bar,
            "segments": segments, "charged_w": round(float(charged) * scale, 1),
            "ticks": ticks, "total": total,
            **said("Bar chart of what running the services alone would cost, by component, "
                   "against what the shared service charged", ["", "Amount"], figures)}


def nice_range(low: float, high: float, steps: int = 4) -> tuple[float, float, float]:
    """An axis (bottom, top, step) fitted to the data: round steps around low..high, so two
    lines near $170 are drawn apart rather than flattened into one band by a 0 baseline."""
    if high <= low:
        high = low + max(abs(low) * 0.1, 1.0)
    raw = (high - low) / steps
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    bottom = math.floor(low / step) * step
    top = math.ceil(high / step) * step
    if top == bottom:
        top = bottom + step
    return bottom, top, step


LINE_COLORS = LINES  # the agency (navy, solid), statewide (orange, dashed)


def lines(labels: Sequence[str], series: dict[str, Sequence[Decimal | None]],
          width: int = 640, height: int = 190, title: str = "") -> dict[str, Any]:
    """Line chart per series over `labels`, on an axis fitted to the data, each line
    labelled at its last point (no legend to match colours against)."""
    left, right, top_pad, bottom = 60, 150, 14, 34
    values = [float(v) for s in series.values() for v in s if v is not None]
    low, high, step = nice_range(min(values, default=0.0), max(values, default=1.0))
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    x_step = plot_w / max(1, len(labels) - 1)

    def y(v: float) -> float:
        return round(top_pad + plot_h * (1 - (v - low) / (high - low)), 1)

    out: list[dict[str, Any]] = []
    for i, (name, points) in enumerate(series.items()):
        coords = [(round(left + j * x_step, 1), y(float(v)))
                  for j, v in enumerate(points) if v is not None]
        last = next((v for v in reversed(points) if v is not None), None)
        out.append({"name": name, "color": LINE_COLORS[i % len(LINE_COLORS)],
                    "dash": "" if i == 0 else "5,3",
                    "points": " ".join(f"{x},{yy}" for x, yy in coords), "dots": coords,
                    "last": last, "label_y": coords[-1][1] if coords else None})
    labelled = [s for s in out if s["label_y"] is not None]
    if len(labelled) == 2 and abs(labelled[0]["label_y"] - labelled[1]["label_y"]) < 13:
        upper, lower = sorted(labelled, key=lambda s: s["label_y"])
        middle = (upper["label_y"] + lower["label_y"]) / 2
        upper["label_y"], lower["label_y"] = round(middle - 7, 1), round(middle + 7, 1)
    count = int(round((high - low) / step))
    ticks = [{"y": y(low + k * step), "value": low + k * step} for k in range(count + 1)]
    # a month label is about 40 px wide: where months sit closer, every other one is named
    # (from the last, so the latest month always is), and labels never run into each other
    every = max(1, math.ceil(44 / x_step)) if len(labels) > 1 else 1
    final = len(labels) - 1
    xlabels = [{"x": round(left + j * x_step, 1), "label": label} for j, label in enumerate(labels)
               if (final - j) % every == 0]
    figures = [[label, *[points[j] if j < len(points) else None for points in series.values()]]
               for j, label in enumerate(labels)]
    return {"width": width, "height": height, "left": left, "series": out, "ticks": ticks,
            "xlabels": xlabels, "baseline": height - bottom, "right": width - right,
            "label_x": width - right + 8,
            **said(title or "Line chart of " + " and ".join(series) + " by month",
                   ["Month", *series], figures, axis=(low, high))}


def columns(labels: Sequence[str], values: Sequence[Decimal | None], width: int = 640,
            height: int = 140, top: float = 100.0, title: str = "",
            name: str = "Value", unit: str = "%") -> dict[str, Any]:
    """Vertical bars (CSAT by month, 0 to 100); a month without responses is marked as no
    data, not drawn as 0. Value labels sit inside the chart's own top margin."""
    left, bottom, top_pad = 40, 30, 18
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    slot = plot_w / max(1, len(labels))
    bars = []
    for j, (label, v) in enumerate(zip(labels, values)):
        h = plot_h * float(v) / top if v is not None else 0
        bars.append({"x": round(left + j * slot + slot * 0.15, 1), "w": round(slot * 0.7, 1),
                     "y": round(top_pad + plot_h - h, 1), "h": round(h, 1), "label": label,
                     "value": v, "no_data": v is None})
    return {"width": width, "height": height, "bars": bars, "baseline": top_pad + plot_h,
            "left": left, "top": top_pad, "unit": unit,
            **said(title or f"Column chart of {name} by month", ["Month", name],
                   [[label, v] for label, v in zip(labels, values)])}


def said(title: str, header: list[str], rows: list[list[Any]],
         axis: tuple[float, float] | None = None) -> dict[str, Any]:
    """A chart's words, made from its data (never written by hand): its title, its
    figures as a table (`figures`: the header and rows, shown beside the chart for those
    who cannot see it) and one sentence of them (`text`, the alternative text)."""
    def shown(value: Any) -> str:
        if value is None:
            return "no data"
        return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, Decimal | float) \
            else str(value)
    rows = [[_spoken(str(row[0])), *row[1:]] for row in rows]  # read as months, in full
    parts = []
    for row in rows:
        label, values = row[0], row[1:]
        named = [f"{h} {shown(v)}" if h and len(values) > 1 else shown(v)
                 for h, v in zip(header[1:], values)]
        parts.append(f"{label}: {', '.join(named)}")
    cut = (f" The axis runs from {shown(axis[0])} to {shown(axis[1])}, not from zero."
           if axis and axis[0] > 0 else "")
    return {"title": title, "figures": {"header": header, "rows": rows},
            "text": f"{title}.{cut} " + "; ".join(parts) + "."}


def trend_text(points: Sequence[Any], symbol: str = "$") -> str:
    """A cost-per-user chart said in words, from its data (its alternative text and its
    caption are never written by hand): the kind of chart, then every month's figures."""
    def shown(value: Any) -> str:
        return "no figure" if value is None else f"{symbol}{value:,.2f}"
    if not points:
        return "Cost per user by month: no months to show."
    months = "; ".join(f"{_month_words(p.period)}: {shown(p.agency)} against "
                       f"{shown(p.statewide)} statewide" for p in points)
    return (f"Line chart of cost per user per month, your agency (solid line) against the "
            f"statewide figure (dashed line). {months}.")


def _spoken(label: str) -> str:
    """`Nov 25` (a month label) as `Nov 2025`, so it is not read as the 25th of November."""
    found = re.fullmatch(r"([A-Z][a-z]{2}) (\d\d)", label)
    return f"{found.group(1)} 20{found.group(2)}" if found else label


def _month_words(period: str) -> str:
    import calendar

    return f"{calendar.month_abbr[int(period[5:7])]} {period[:4]}"
