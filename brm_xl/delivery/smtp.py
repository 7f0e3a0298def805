"""SMTP sending, one connection per batch, every outcome recorded.

STARTTLS is on unless the caller turns it off; the password comes only from the
environment (`BRM_SMTP_PASSWORD`) or the system keyring, never from a workbook or the
command line; with `smtp_auth` oauth2 the login is XOAUTH2 with a Microsoft 365 token and
no password is ever tried. A refused recipient fails that message only; a dropped connection fails the
message in flight and ends the batch, so the next run sends what is left.
"""

from __future__ import annotations

import datetime as dt
import os
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from brm_xl.delivery.messages import Outgoing
from brm_xl.delivery.signin import KEYRING_SERVICE, SignIn, keyring_secret
from brm_xl.problems import DeliveryError

PASSWORD_ENV = "BRM_SMTP_PASSWORD"
USER_ENV = "BRM_SMTP_USER"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    tls: bool = True
    user: str | None = None
    timeout: float = 30.0
    # oauth2: XOAUTH2 with a token from the office's app (Exchange Online without Basic
    # authentication); a password login is never tried then
    oauth: SignIn | None = None


@dataclass
class Result:
    outgoing: Outgoing
    status: str  # sent, failed, drafted (a mailbox draft), unknown
    sent_at: dt.datetime | None
    error: str | None = None
    answer: str | None = None  # the server's word on it: Graph's request id, a draft's id


def password_for(user: str | None) -> str | None:
    """From the environment, else the system keyring (service 'brm-xl'); never a workbook."""
    if not user:
        return None
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    return keyring_secret(user)


def connect(config: SmtpConfig) -> smtplib.SMTP:
    if not config.tls and (config.oauth is not None or config.user):
        what = "Microsoft 365 token" if config.oauth is not None else "password"
        raise DeliveryError(f"a login without TLS would send the {what} in clear: remove "
                            "--no-tls (a relay that takes mail without a login is smtp_auth "
                            "none, where --no-tls is allowed)")
    try:
        if config.port == 465 and config.tls:
            server: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                                    context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            server.ehlo()
            if config.tls:
                if not server.has_extn("starttls"):
                    server.quit()
                    advice = ("use a server that does" if config.oauth is not None or config.user
                              else "use a server that does, or --no-tls for a trusted internal "
                              "relay")
                    raise DeliveryError(f"{config.host}:{config.port} does not offer STARTTLS; "
                                        f"{advice}")
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
        if config.oauth is not None:
            _xoauth2(server, config)
        elif config.user:
            password = password_for(config.user)
            if password is None:
                raise DeliveryError(f"no password for {config.user}: set {PASSWORD_ENV} or store "
                                    f"it with: keyring set {KEYRING_SERVICE} {config.user}")
            server.login(config.user, password)
        return server
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"{config.host} refused the login for {config.user}: "
                            f"{_reason(exc)}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"cannot reach the mail server {config.host}:{config.port} "
                            f"({exc}); check smtp_host and smtp_port") from exc


def _xoauth2(server: smtplib.SMTP, config: SmtpConfig) -> None:
    """SASL XOAUTH2 (`user=...^Aauth=Bearer ...^A^A`); a refused token is renewed once."""
    assert config.oauth is not None
    if not config.user:
        raise DeliveryError("smtp_auth oauth2 needs the mailbox to sign in as: set "
                            "graph_mailbox (or --smtp-user)")
    if not server.has_extn("auth") or "XOAUTH2" not in server.esmtp_features.get("auth", "").upper():
        raise DeliveryError(f"{config.host}:{config.port} does not offer AUTH XOAUTH2; check "
                            "smtp_host (smtp.office365.com) and that SMTP AUTH is allowed for "
                            "the mailbox")
    for renew in (False, True):
        token = config.oauth.renew() if renew else config.oauth.token()
        initial = f"user={config.user}\x01auth=Bearer {token}\x01\x01"

        def answer(challenge: bytes | None = None, initial: str = initial) -> str:
            return "" if challenge else initial  # after an error challenge: an empty reply

        try:
            server.auth("XOAUTH2", answer, initial_response_ok=True)
            return
        except smtplib.SMTPAuthenticationError as exc:
            if renew:
                raise DeliveryError(f"{config.host} refused the token for {config.user}: "
                                    f"{_reason(exc)}; check the app's SMTP.Send permission and "
                                    "that SMTP AUTH is on for the mailbox") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{addr}: {code} {msg.decode('utf-8', 'replace')}"
                         for addr, (code, msg) in exc.recipients.items())
    return str(exc) or type(exc).__name__


def send_all(batch: Iterable[Outgoing], config: SmtpConfig,
             now: Callable[[], dt.datetime], on_result: Callable[[Result], None],
             before: Callable[[Outgoing], None] = lambda o: None,
             server: smtplib.SMTP | None = None) -> None:
    """Send each message; `before` is told just before a message goes to the server, and
    every outcome is reported through `on_result` as it happens. `server`: a connection
    already made (and logged in) when the transport was checked."""
    if server is not None:  # a long build may outlast the server's patience: ask first
        try:
            server.noop()
        except (smtplib.SMTPException, OSError):
            server = None
    server = server or connect(config)
    try:
        for outgoing in batch:
            before(outgoing)
            try:
                refused = server.send_message(outgoing.message)
            except smtplib.SMTPRecipientsRefused as exc:
                on_result(Result(outgoing, "failed", None, f"recipient refused: {_reason(exc)}"))
                continue
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                on_result(Result(outgoing, "failed", None,
                                 f"connection lost: {exc}; run again to send the rest"))
                return
            except smtplib.SMTPException as exc:
                on_result(Result(outgoing, "failed", None, _reason(exc)))
                continue
            heads = {a.addr_spec for a in outgoing.message["To"].addresses}
            details = "; ".join(f"{a}: {c} {m.decode('utf-8', 'replace')}"
                                for a, (c, m) in refused.items())
            if heads & set(refused):  # the agency head did not get it: not delivered
                on_result(Result(outgoing, "failed", None, f"recipient refused: {details}"))
            else:
                on_result(Result(outgoing, "sent", now(), f"refused: {details}" if refused else None))
    finally:
        try:
            server.quit()
        except (smtplib.SMTPException, OSError):
            server.close()
