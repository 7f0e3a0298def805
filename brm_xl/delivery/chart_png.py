"""The email's one inline chart as a PNG (mail clients do not show inline SVG): cost per
user by month against the statewide line, drawn with Pillow."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from brm_xl.reports.data import TrendPoint

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
    """The report's trend chart as a PNG (mail clients do not show SVG): the same geometry
    (reports.charts.lines: an axis fitted to the data, each line labelled at its end)."""
    from brm_xl.reports.charts import lines

    chart = lines([f"{p.period[5:7]}/{p.period[2:4]}" for p in points],
                  {"Your agency": [p.agency for p in points],
                   "Statewide": [p.statewide for p in points]}, width=width, height=height)
    scale = 2  # drawn at twice the size for sharp text on high-density screens
    image = Image.new("RGB", (width * scale, height * scale), "white")
    draw = ImageDraw.Draw(image)
    small, bold = _font(10 * scale), _font(11 * scale)

    def at(x: float, y: float) -> tuple[float, float]:
        return x * scale, y * scale

    step = chart["ticks"][1]["value"] - chart["ticks"][0]["value"] if len(chart["ticks"]) > 1 else 1
    for tick in chart["ticks"]:
        draw.line([at(chart["left"], tick["y"]), at(chart["right"], tick["y"])], fill="#e7e6e6",
                  width=scale)
        text = f"{currency_symbol}{tick['value']:,.0f}" if step >= 1 else \
            f"{currency_symbol}{tick['value']:,.2f}"
        draw.text(at(chart["left"] - 6, tick["y"]), text, fill="#404040", font=small, anchor="rm")
    for label in chart["xlabels"]:
        draw.text(at(label["x"], chart["baseline"] + 14), label["label"], fill="#404040",
                  font=small, anchor="mm")
    for series in chart["series"]:
        dots = [at(x, y) for x, y in series["dots"]]
        if len(dots) > 1:
            if series["dash"]:
                for (x0, y0), (x1, y1) in zip(dots, dots[1:]):
                    for k in range(0, 10, 2):  # five dashes a segment
                        a, b = k / 10, (k + 1) / 10
                        draw.line([(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a),
                                   (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)],
                                  fill=series["color"], width=2 * scale)
            else:
                draw.line(dots, fill=series["color"], width=2 * scale, joint="curve")
        for x, y in dots:
            draw.ellipse([x - 2.6 * scale, y - 2.6 * scale, x + 2.6 * scale, y + 2.6 * scale],
                         fill=series["color"])
        if series["label_y"] is not None and series["last"] is not None:
            draw.text(at(chart["label_x"], series["label_y"]),
                      f"{series['name']} {currency_symbol}{series['last']:,.2f}",
                      fill=series["color"], font=bold, anchor="lm")
    out = io.BytesIO()
    # exactly half (a 2x2 box: sharp and quick), compressed lightly: twice as fast as
    # optimising, at about 20 KB a chart
    image.reduce(scale).save(out, "PNG", compress_level=1)
    return out.getvalue()
