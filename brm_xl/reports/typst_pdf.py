"""PDF through Typst: the report model rendered by jinja2 into Typst markup, compiled in
process by the `typst` wheel (no system libraries, the same on Windows, macOS and Linux),
into a tagged PDF.

Every value a template prints is escaped for Typst markup (`finalize`), so text from a
workbook is shown as the characters it is and never becomes markup, a function call or a
link. Charts are the same SVG the HTML report carries, embedded as images with their
alternative text. Typst reads no file: the compile's root is an empty folder.
"""

from __future__ import annotations

import functools
import re
import tempfile
import weakref
from typing import Any

import jinja2

from brm_xl.problems import TemplateError
from brm_xl.reports.data import Report
from brm_xl.reports.limits import BoundedSandbox, render_template

_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


class Raw(str):
    """Typst source a template may emit as it is (a string literal, an image call)."""


def escape(value: Any) -> str:
    """Markup text: every ASCII punctuation mark escaped, line breaks as spaces."""
    if isinstance(value, Raw):
        return value
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return _PUNCTUATION.sub(r"\\\1", text)


def literal(value: Any) -> Raw:
    """A Typst string literal, for code positions (a title, an alt text)."""
    text = "" if value is None else str(value)
    return Raw('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')


_environments: weakref.WeakKeyDictionary[jinja2.Environment, jinja2.Environment] = \
    weakref.WeakKeyDictionary()


def environment_for(html_env: jinja2.Environment) -> jinja2.Environment:
    """The Typst twin of an HTML environment: the same folders (an office's templates
    first), filters and sandbox; charts are rendered as SVG by the HTML environment."""
    if html_env in _environments:
        return _environments[html_env]
    env = BoundedSandbox(
        loader=html_env.loader, autoescape=False, finalize=escape, trim_blocks=True,
        keep_trailing_newline=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
        limits=getattr(html_env, "limits", None), label=getattr(html_env, "label", "report template"))
    env.filters.update(html_env.filters)
    env.filters["tstr"] = literal
    env.globals.update(html_env.globals)

    def chart(template: str, c: Any, r: Any, alt: str, width: str = "100%") -> Raw:
        """The chart as an image whose alternative text is the caption and the chart's
        figures in words (`charts.said`), for a screen reader in the PDF too."""
        svg = html_env.get_template(template).render(c=c, r=r)
        words = c.get("text") if isinstance(c, dict) else None
        alt = f"{alt}. {words.split('. ', 1)[-1]}" if words else alt
        return Raw(f"#image(bytes({literal(svg)}), format: \"svg\", width: {width}, "
                   f"alt: {literal(alt)})")

    env.globals["chart"] = chart
    _environments[html_env] = env
    return env


@functools.cache
def _empty_root() -> str:
    return tempfile.mkdtemp(prefix="brm-xl-typst-")


def render_typst(html_env: jinja2.Environment, report: Report, generated: Any) -> str:

    name = f"{'agency_report' if report.kind == 'agency' else report.kind}.typ.j2"
    return render_template(environment_for(html_env), name, r=report, generated=generated)


def compile_pdf(source: str) -> bytes:
    import typst

    try:
        # (the stub binds input and root to one type; bytes of source with a str root is fine)
        # PDF/UA-1: Typst checks the document as it compiles (a title, alternative text for
        # every figure, headings in order) and writes the identification and
        # DisplayDocTitle; a template that breaks it does not compile
        pdf = typst.compile(source.encode("utf-8"), root=_empty_root(),  # type: ignore[type-var]
                            pdf_tags=True, pdf_standards=PDF_STANDARDS)
        assert isinstance(pdf, bytes)
        return pdf
    except Exception as exc:  # typst's TypstError: a template that does not compile
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        if "PDF/UA" in str(exc) or "ua-1" in str(exc).lower():
            raise TemplateError(f"the PDF report template breaks PDF/UA-1, the standard for "
                                f"accessible PDF, so no PDF was written ({first})") from None
        raise TemplateError(f"the PDF report template does not compile ({first})") from None


PDF_STANDARDS: Any = ["ua-1"]  # every PDF brm_xl writes
