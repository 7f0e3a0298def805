"""The email's one inline chart as a PNG (mail clients do not show inline SVG): cost per
user by month against the statewide line, drawn with Pillow."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ..reports.charts import nice_max
from ..reports.data import TrendPoint

FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans.ttf", "arial.ttf")


def _font(size: int) -> Any:
    for name in FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def cost_per_user_png(points: Sequence[TrendPoint], currency_symbol: str = "$",
                      width: int = 600, height: int = 200) -> bytes:
    """Bars: the agency's cost per user per month; a line: the statewide figure."""
    scale = 2  # drawn at twice the size for sharp text on high-density screens
    w, h = width * scale, height * scale
    image = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(image)
    small = _font(11 * scale)
    left, right, top, bottom = 56 * scale, 12 * scale, 12 * scale, 26 * scale
    values = [float(v) for p in points for v in (p.agency, p.statewide) if v is not None]
    peak = nice_max(max(values, default=1.0) * 1.05)
    plot_h = h - top - bottom
    slot = (w - left - right) / max(1, len(points))

    def y(v: Decimal) -> float:
        return top + plot_h * (1 - float(v) / peak)

    for frac in (0, 0.5, 1):
        gy = top + plot_h * (1 - frac)
        draw.line([(left, gy), (w - right, gy)], fill="#e7e6e6", width=scale)
        draw.text((left - 6 * scale, gy), f"{currency_symbol}{peak * frac:,.0f}", fill="#404040",
                  font=small, anchor="rm")
    line = []
    for i, p in enumerate(points):
        x0 = left + i * slot + slot * 0.18
        if p.agency is not None:
            draw.rectangle([x0, y(p.agency), x0 + slot * 0.64, top + plot_h], fill="#2e75b6")
        if p.statewide is not None:
            line.append((left + i * slot + slot / 2, y(p.statewide)))
        label = p.period[5:7] + "/" + p.period[2:4]
        draw.text((left + i * slot + slot / 2, h - bottom / 2), label, fill="#404040", font=small,
                  anchor="mm")
    if len(line) > 1:
        draw.line(line, fill="#bf9000", width=3 * scale, joint="curve")
    out = io.BytesIO()
    image.resize((width, height), Image.Resampling.LANCZOS).save(out, "PNG", optimize=True)
    return out.getvalue()

