"""Render report data to HTML, PDF and XLSX, through a small registry of formats.

HTML comes from jinja2 templates in `report_templates/` (autoescaped: text from a workbook
cannot become markup); an office may point Settings `report_templates` at its own folder,
and any template it does not provide falls back to the shipped one. Every template runs in
jinja2's immutable sandbox, whatever folder it comes from: a template can format the
report's figures, never reach Python's internals, run a command or read a file outside
its folder, and runs bounded in time and output size (limits: a template that loops too
long or writes too much is a sentence, and nothing is written). PDF is the print view of the same report model: Typst templates
(`*.typ.j2`, see typst_pdf) compiled in process into a tagged PDF. XLSX is the bill of IT
for finance, written with XlsxWriter.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox

from brm_xl.relationships.maturity import level_label
from brm_xl.reports import charts
from brm_xl.reports.data import SEVERITY, AccountPlan, AgencyReport, Portfolio, Report
from brm_xl.reports.limits import BoundedSandbox, TemplateLimits, render_template
from brm_xl.reports.palette import COLORS
from brm_xl.version import __version__

SHIPPED = Path(__file__).resolve().parent.parent.parent / "report_templates"
SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "EUR": "\u20ac", "GBP": "\u00a3"}


def templates_folder() -> Path:
    if SHIPPED.is_dir():
        return SHIPPED
    from importlib.resources import files

    return Path(str(files("brm_xl_report_templates")))


class FolderLoader(jinja2.FileSystemLoader):
    """Templates from one folder, never from outside it (a symlink out is not followed)."""

    def __init__(self, folder: Path):
        super().__init__(str(folder))
        self.root = Path(folder).resolve()

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if not Path(filename).resolve().is_relative_to(self.root):
            raise jinja2.TemplateNotFound(template)
        return source, filename, uptodate


def escaped(name: str | None) -> bool:
    """HTML escaping for every template but plain text ones (`*.txt.j2`: the email's subject
    and text body, where `&amp;` would show as such)."""
    return not (name or "").endswith((".txt.j2", ".csv.j2"))


CHARTS = types.SimpleNamespace(stacked_comparison=charts.stacked_comparison,
                               lines=charts.lines, columns=charts.columns)


def environment(office: Path | None = None, limits: TemplateLimits | None = None,
                label: str = "report template") -> jinja2.Environment:
    """The sandbox every template renders in: an office's folder first, then the shipped
    templates; `limits` from Settings (TemplateLimits.from_settings), `label` names the
    template in a sentence ("journal template erp.csv.j2")."""
    folders = [office] if office else []
    loader = jinja2.ChoiceLoader([FolderLoader(f) for f in [*folders, templates_folder()]])
    env = BoundedSandbox(
        loader=loader, autoescape=escaped, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, limits=limits, label=label)
    env.filters.update(money=money, rate=rate, pct=pct, signed_pct=signed_pct, number=number,
                       day=day, month_label=month_label, maturity=level_label)
    env.globals.update(charts=CHARTS, version=__version__, severity=SEVERITY, palette=COLORS)
    return env




def money(value: Decimal | None, currency: str = "USD", whole: bool = False) -> str:
    """$1,234.56; negatives in parentheses: ($1,234.56); blank as an en dash."""
    if value is None:
        return "\u2013"
    symbol = SYMBOLS.get(currency.upper(), currency.upper() + " ")
    # whole dollars half up, as every figure is rounded (format() alone rounds half even)
    amount = value if isinstance(value, Decimal) else Decimal(str(value))  # a template's int
    shown = abs(amount).quantize(Decimal(1) if whole else Decimal("0.01"), ROUND_HALF_UP)
    text = f"{shown:,.0f}" if whole else f"{shown:,.2f}"
    return f"({symbol}{text})" if value < 0 else f"{symbol}{text}"


def rate(value: Decimal | None, currency: str = "USD") -> str:
    """A unit price: cents as money, fractions of a cent to four places ($0.0450)."""
    if value is None:
        return "\u2013"
    exponent = value.normalize().as_tuple().exponent
    places = max(2, min(4, -exponent if isinstance(exponent, int) else 2))
    symbol = SYMBOLS.get(currency.upper(), currency.upper() + " ")
    return f"{symbol}{value:,.{places}f}"


def pct(value: Decimal | None) -> str:
    return "\u2013" if value is None else f"{value:.1f}%"


def signed_pct(value: Decimal | None) -> str:
    """+1.5%, -1.5%, and 0.0% for anything that rounds to zero (never -0.0%)."""
    if value is None:
        return "\u2013"
    shown = f"{abs(Decimal(value)).quantize(Decimal('0.1'), ROUND_HALF_UP)}"
    if float(shown) == 0:
        return "0.0%"
    return f"+{shown}%" if value > 0 else f"-{shown}%"


def number(value: Any) -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, Decimal):
        value = value.normalize()
        return f"{value:,f}" if value != value.to_integral() else f"{value:,.0f}"
    if isinstance(value, float):
        return f"{value:,.0f}"
    return f"{value:,}"


def day(value: dt.date | None) -> str:
    return "\u2013" if value is None else f"{value:%B} {value.day}, {value.year}"


def month_label(period: str) -> str:
    import calendar

    return f"{calendar.month_abbr[int(period[5:7])]} {period[2:4]}"


def render_html(env: jinja2.Environment, report: Report) -> str:
    name = f"{'agency_report' if report.kind == 'agency' else report.kind}.html.j2"
    return render_template(env, name, r=report, generated=dt.date.today())


def render_pdf(env: jinja2.Environment, report: Report) -> bytes:
    """The print view: the same report model through the Typst templates (typst_pdf)."""
    from brm_xl.reports.typst_pdf import compile_pdf, render_typst

    return compile_pdf(render_typst(env, report, dt.date.today()))


@dataclass(frozen=True)
class Format:
    extension: str
    render: Callable[[jinja2.Environment, Report, str], bytes]
    can_render: Callable[[Report], bool] = lambda report: True


def _html(env: jinja2.Environment, report: Report, html: str) -> bytes:
    return html.encode("utf-8")


def _pdf(env: jinja2.Environment, report: Report, html: str) -> bytes:
    return render_pdf(env, report)


def _xlsx(env: jinja2.Environment, report: Report, html: str) -> bytes:
    """An agency's bill of IT, or the portfolio as one table for finance."""
    from brm_xl.reports.plan_xlsx import plan_workbook
    from brm_xl.reports.xlsx import bill_workbook, portfolio_workbook, vendor_workbook

    if isinstance(report, AgencyReport):
        return bill_workbook(report)
    if isinstance(report, Portfolio):
        return portfolio_workbook(report)
    if isinstance(report, AccountPlan):
        return plan_workbook(report)
    return vendor_workbook(report)


FORMATS: dict[str, Format] = {
    "html": Format("html", _html),
    "pdf": Format("pdf", _pdf),
    "xlsx": Format("xlsx", _xlsx),
}


def render_all(env: jinja2.Environment, report: Report,
               formats: list[str]) -> dict[str, bytes]:
    """Every requested format of one report; the HTML is rendered once and shared."""
    html = render_html(env, report)
    return {ext: FORMATS[ext].render(env, report, html) for ext in formats
            if FORMATS[ext].can_render(report)}
