"""One email per agency: To its head, Cc its BRM manager, the headline figures and one chart
in the body, its own PDF report attached. Names and subjects cannot inject headers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import jinja2

from brm_xl.delivery.chart_png import cost_per_user_png
from brm_xl.filenames import report_file, safe_name
from brm_xl.reports.charts import trend_text
from brm_xl.reports.data import AgencyReport
from brm_xl.reports.limits import render_template
from brm_xl.reports.render import SYMBOLS

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str | None) -> str:
    """Header text: control characters (CR, LF) become spaces, so nothing can add a header."""
    return " ".join(_CONTROL.sub(" ", text or "").split())


def address(name: str | None, email: str) -> Address:
    return Address(display_name=one_line(name), addr_spec=one_line(email))


@dataclass
class Outgoing:
    agency_id: str
    to: str
    cc: str | None
    subject: str
    message: EmailMessage
    stem: str  # the agency's unique file-name part

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


FIGURES_HEADER = "X-BRM-Figures"  # what the message told the agency (brm-xl verify --sent)


def figures_header(period: str, agency: str, paid: Decimal, seal: str) -> str:
    """The header an agency's message carries: what it was told it paid, and the seal of
    the close it was told from (file-name-safe text only: never a header injection)."""
    return (f"period={safe_name(period)}; agency={safe_name(agency)}; paid={paid:.2f}"
            + (f"; seal={seal[:12]}" if seal else ""))


def build_message(env: jinja2.Environment, report: AgencyReport, attachments: dict[str, bytes],
                  sender: Address, reply_to: str | None, when: dt.datetime,
                  stem: str) -> Outgoing:
    """The agency's message; `attachments` are the files rendered for this agency's id."""
    agency = report.agency
    period = report.period
    chart_cid = make_msgid(idstring="chart", domain=sender.domain or "brm-xl.local")
    symbol = SYMBOLS.get(report.currency.upper(), "")
    # the chart said in words, from its data: its alt text, in the HTML and text parts
    context = {"r": report, "chart_cid": chart_cid[1:-1],
               "chart_text": trend_text(report.trend, symbol)}
    subject = one_line(render_template(env, "email/subject.txt.j2", **context))
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = address(agency.head_name, agency.head_email or "")
    if agency.brm_email:
        msg["Cc"] = address(agency.brm_manager, agency.brm_email)
    # replies go to whoever signs the note: the agency's BRM manager, unless Settings
    # reply_to names a mailbox for every report
    if reply_to:
        msg["Reply-To"] = one_line(reply_to)
    elif agency.brm_email:
        msg["Reply-To"] = address(agency.brm_manager, agency.brm_email)
    msg["Date"] = format_datetime(when)
    msg[FIGURES_HEADER] = figures_header(period.label, agency.agency_id, report.headline.paid,
                                         report.seal)
    msg["Message-ID"] = make_msgid(idstring=f"{safe_name(period.label)}.{stem}",
                                   domain=sender.domain or "brm-xl.local")
    msg.set_content(render_template(env, "email/body.txt.j2", **context))
    msg.add_alternative(render_template(env, "email/body.html.j2", **context), subtype="html")
    png = cost_per_user_png(report.trend, symbol)
    html_part = msg.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(png, maintype="image", subtype="png", cid=chart_cid,
                          filename="cost-per-user.png", disposition="inline")
    for ext, content in attachments.items():
        name = report_file(period.label, stem, ext)
        maintype, subtype = (("application", "pdf") if ext == "pdf" else
                             ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return Outgoing(agency.agency_id, agency.head_email or "", agency.brm_email, subject,
                    msg, stem)
