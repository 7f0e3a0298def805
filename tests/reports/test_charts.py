"""Chart geometry: axes and stacked comparisons."""

from __future__ import annotations

from decimal import Decimal as D

from brm_xl.reports.charts import nice_max, stacked_comparison


def test_chart_geometry():
    assert [nice_max(v) for v in (0, 0.4, 1, 7, 12, 180, 2400, 26000)] == [
        1.0, 1, 1, 10, 20, 200, 2500, 50000]
    chart = stacked_comparison([("Hosting", D("60")), ("Security", D("40"))], D("50"))
    plot = chart["width"] - 110 - 48
    assert [s["w"] for s in chart["segments"]] == [round(60 * plot / 100, 1), round(40 * plot / 100, 1)]
    assert chart["charged_w"] == round(50 * plot / 100, 1) and chart["total"] == 100.0
    assert chart["ticks"][-1]["value"] == 100.0
