"""Chart geometry for the reports' inline SVG: pure arithmetic, drawn by the templates.

Drawing SVG directly costs microseconds where a plotting library costs half a second a
report, and the templates keep the look in the office's hands.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

PALETTE = ["#1f4e79", "#2e75b6", "#9dc3e6", "#548235", "#a9d18e", "#bf9000", "#ffd966",
           "#7f6084"]


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
    return {"width": width, "height": 2 * bar + 56 + 13 * legend_rows, "left": left, "bar": bar,
            "segments": segments, "charged_w": round(float(charged) * scale, 1),
            "ticks": ticks, "total": total}


def lines(labels: Sequence[str], series: dict[str, Sequence[Decimal | None]],
          width: int = 640, height: int = 180) -> dict[str, Any]:
    """Line chart points per series over `labels`; gaps where a value is missing."""
    left, right, top_pad, bottom = 60, 24, 14, 34
    values = [float(v) for s in series.values() for v in s if v is not None]
    top = nice_max(max(values, default=1.0))
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    step = plot_w / max(1, len(labels) - 1)
    out = []
    for i, (name, points) in enumerate(series.items()):
        coords = [(round(left + j * step, 1), round(top_pad + plot_h * (1 - float(v) / top), 1))
                  for j, v in enumerate(points) if v is not None]
        out.append({"name": name, "color": PALETTE[i * 3 % len(PALETTE)],
                    "points": " ".join(f"{x},{y}" for x, y in coords), "dots": coords})
    ticks = [{"y": round(top_pad + plot_h * (1 - f), 1), "value": top * f}
             for f in (0, .25, .5, .75, 1)]
    xlabels = [{"x": round(left + j * step, 1), "label": label} for j, label in enumerate(labels)]
    return {"width": width, "height": height, "left": left, "series": out, "ticks": ticks,
            "xlabels": xlabels, "baseline": height - bottom, "right": width - right}


def columns(labels: Sequence[str], values: Sequence[Decimal | None], width: int = 640,
            height: int = 130, top: float = 100.0) -> dict[str, Any]:
    """Vertical bars (e.g. CSAT by month, 0 to 100)."""
    left, bottom, top_pad = 40, 30, 10
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    slot = plot_w / max(1, len(labels))
    bars = []
    for j, (label, v) in enumerate(zip(labels, values)):
        h = plot_h * float(v) / top if v is not None else 0
        bars.append({"x": round(left + j * slot + slot * 0.15, 1), "w": round(slot * 0.7, 1),
                     "y": round(top_pad + plot_h - h, 1), "h": round(h, 1), "label": label,
                     "value": v})
    return {"width": width, "height": height, "bars": bars, "baseline": top_pad + plot_h,
            "left": left}
