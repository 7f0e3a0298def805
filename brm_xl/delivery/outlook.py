"""Drafts in classic Outlook on Windows (Settings `mail_transport` = outlook), by COM.

Each agency's message becomes one Outlook `MailItem` saved to the Drafts folder, with
its attachments and its inline chart, for the BRM manager to read over and send. The
message is the same one the `.eml` drafts and Graph carry (`as_draft` takes it apart);
only `save_drafts` talks to Outlook, and it runs only where Outlook and pywin32 are (the
README's Windows hand check). The new Outlook for Windows has no COM: there, use
Microsoft Graph (`mail_transport` graph, `--mailbox-drafts`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from brm_xl.delivery.messages import Outgoing
from brm_xl.delivery.smtp import Result
from brm_xl.problems import DeliveryError

# MAPI's PR_ATTACH_CONTENT_ID: how an attachment becomes the image an HTML body's cid: shows
ATTACH_CONTENT_ID = "http://schemas.microsoft.com/mapi/proptag/0x3712001F"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_id: str | None = None  # an inline image, shown where the HTML says cid:...


@dataclass(frozen=True)
class Draft:
    to: str
    cc: str
    reply_to: str
    subject: str
    html: str
    attachments: tuple[Attachment, ...]


def as_draft(message: EmailMessage) -> Draft:
    """What Outlook needs from the message: its addresses, subject, HTML body, files."""
    html_part = message.get_body(("html",))
    html = html_part.get_content() if isinstance(html_part, EmailMessage) else ""
    files = []
    for part in message.walk():
        if not isinstance(part, EmailMessage) or part.is_multipart() or part is html_part:
            continue
        if part.get_content_maintype() == "text" and not part.get_filename():
            continue  # the text body: Outlook makes its own from the HTML
        cid = part.get("Content-ID")
        payload = part.get_payload(decode=True)
        files.append(Attachment(part.get_filename() or "attachment",
                                payload if isinstance(payload, bytes) else b"",
                                cid.strip("<>") if cid else None))
    return Draft(_plain(message["To"]), _plain(message["Cc"]), _plain(message["Reply-To"]),
                 str(message["Subject"] or ""), html, tuple(files))


def _plain(header: Any) -> str:
    """Addresses as Outlook's To and Cc take them: `Name <a@b>; ...`."""
    if header is None:
        return ""
    addresses = getattr(header, "addresses", ())
    return "; ".join(str(a) for a in addresses) if addresses else str(header)


def save_drafts(messages: Iterable[Outgoing], now: Callable[[], Any],
                record: Callable[[Result], None],
                before: Callable[[Outgoing], None] = lambda o: None,
                application: Any = None) -> None:
    """Each message saved to Outlook's Drafts (`application`: Outlook's COM object)."""
    if application is None:
        try:
            import win32com.client  # pywin32, on Windows with classic Outlook
        except ImportError:
            raise DeliveryError("mail_transport outlook needs classic Outlook and pywin32 on "
                                "Windows (pip install pywin32); elsewhere use graph or smtp"
                                ) from None
        try:
            application = win32com.client.Dispatch("Outlook.Application")
        except Exception as exc:  # no Outlook profile, or the new Outlook (no COM)
            raise DeliveryError(f"cannot open classic Outlook ({exc}); the new Outlook has no "
                                "COM: set mail_transport to graph and use --mailbox-drafts"
                                ) from None
    with tempfile.TemporaryDirectory(prefix="brm-xl-outlook-") as folder:
        for outgoing in messages:
            before(outgoing)
            draft = as_draft(outgoing.message)
            try:
                item = application.CreateItem(0)  # olMailItem
                item.To, item.CC, item.Subject = draft.to, draft.cc, draft.subject
                if draft.reply_to:
                    item.ReplyRecipients.Add(draft.reply_to)
                item.HTMLBody = draft.html
                for i, file in enumerate(draft.attachments):
                    path = Path(folder) / f"{i}-{file.filename}"
                    path.write_bytes(file.content)
                    added = item.Attachments.Add(str(path))
                    if file.content_id:
                        added.PropertyAccessor.SetProperty(ATTACH_CONTENT_ID, file.content_id)
                item.Save()  # a saved, unsent item goes to Drafts
                record(Result(outgoing, "drafted", now(), None, f"outlook draft {item.EntryID}"))
            except Exception as exc:  # Outlook's own refusal, for this message
                record(Result(outgoing, "failed", None, f"Outlook: {exc}"))
