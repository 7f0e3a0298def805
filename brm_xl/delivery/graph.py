"""Microsoft Graph mail: the same MIME message the drafts hold, sent or saved as a draft.

- send: `POST {endpoint}/v1.0/users/{mailbox}/sendMail` (or `/me/sendMail`), the message as
  base64 MIME (`Content-Type: text/plain`); Graph answers 202 Accepted: accepted for
  delivery, not yet delivered. Its request id is recorded.
- a draft: `POST .../messages`, MIME likewise; 201 with the draft's id, in the mailbox's
  Drafts folder for the manager to read over and send from Outlook.
Throttling (429) is waited out as Retry-After says, up to a bound; a refused token (401)
is renewed once; a message Graph refuses fails that message only; a lost connection
fails the message in flight and ends the batch, as with SMTP.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from brm_xl.contract.tables import SETTINGS_DEFAULTS
from brm_xl.delivery.messages import Outgoing
from brm_xl.delivery.signin import SignIn, first_line
from brm_xl.delivery.smtp import Result
from brm_xl.problems import DeliveryError

PUBLIC_GRAPH = str(SETTINGS_DEFAULTS["graph_endpoint"][1])


@dataclass(frozen=True)
class GraphConfig:
    endpoint: str = PUBLIC_GRAPH
    mailbox: str | None = None  # None: the signed-in user's own (/me)
    timeout: float = 60.0
    longest_wait: float = 120.0  # the most one Retry-After is waited; more fails the message
    tries: int = 5  # throttled or busy answers waited out per message

    @property
    def base(self) -> str:
        who = f"users/{quote(self.mailbox, safe='@')}" if self.mailbox else "me"
        return f"{self.endpoint.rstrip('/')}/v1.0/{who}"

    @property
    def where(self) -> str:
        return self.mailbox or "your own mailbox"


class GraphRefused(Exception):
    """Graph refused this message (not the connection): it fails alone."""


class Unreached(Exception):
    """Graph could not be reached: the message did not go."""


class MaybeSent(Exception):
    """The connection failed after the message was handed over: it may have gone."""


class GraphMail:
    def __init__(self, config: GraphConfig, signin: SignIn,
                 sleep: Callable[[float], None] = time.sleep):
        import requests

        self.config, self.signin, self.sleep = config, signin, sleep
        self.session = requests.Session()
        self._token: str | None = None

    def check(self) -> None:
        """Before anything is built: a token can be had (the app, its secret, the tenant)."""
        self._token = self.signin.token()

    def send(self, message: bytes) -> str:
        """The message sent; Graph's answer, for Deliveries."""
        answer = self._post("sendMail", message)
        request_id = answer.headers.get("request-id") or "-"
        return f"graph {answer.status_code} accepted for delivery, request-id {request_id}"

    def draft(self, message: bytes) -> str:
        """The message saved to the mailbox's Drafts folder; its Graph id."""
        answer = self._post("messages", message)
        try:
            return str(answer.json()["id"])
        except (ValueError, KeyError, TypeError):  # made, but unnamed: never made twice
            return f"(Graph answered {answer.status_code} without the draft's id)"

    def _post(self, what: str, message: bytes) -> Any:
        import requests

        body = base64.b64encode(message)
        url = f"{self.config.base}/{what}"
        renewed = False
        for attempt in range(self.config.tries + 1):
            token = self._token or self.signin.token()
            self._token = token
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain",
                       "client-request-id": str(uuid.uuid4())}
            try:
                answer = self.session.post(url, data=body, headers=headers,
                                           timeout=self.config.timeout)
            except (requests.ConnectTimeout, requests.exceptions.SSLError) as exc:
                raise Unreached(first_line(exc)) from None
            except requests.ConnectionError as exc:
                if "NewConnectionError" in repr(exc) or "Failed to resolve" in repr(exc):
                    raise Unreached(first_line(exc)) from None
                raise MaybeSent(first_line(exc)) from None
            except requests.RequestException as exc:  # a read timeout: it may have gone
                raise MaybeSent(first_line(exc)) from None
            if answer.status_code in (200, 201, 202):
                return answer
            if answer.status_code == 401 and not renewed:  # expired or revoked: once
                renewed = True
                self._token = self.signin.renew()
                continue
            if answer.status_code == 504:  # the gateway gave up waiting: it may have gone
                raise MaybeSent(_error(answer))
            if answer.status_code in (429, 503) and attempt < self.config.tries:
                wait = _retry_after(answer, attempt)
                if wait > self.config.longest_wait:
                    raise GraphRefused(f"Graph asks to wait {wait:.0f} s ({_error(answer)}); "
                                       "run again later to send the rest")
                self.sleep(wait)
                continue
            raise GraphRefused(_error(answer))
        raise GraphRefused("Graph stayed busy; run again later to send the rest")


def _retry_after(answer: Any, attempt: int) -> float:
    try:
        return max(0.0, float(answer.headers.get("Retry-After", "")))
    except ValueError:
        return float(min(2 ** attempt, 30))


def _error(answer: Any) -> str:
    """Graph's error, in a line: status, code and message (never the request)."""
    try:
        error = answer.json().get("error", {})
        code, text = error.get("code"), error.get("message")
    except (ValueError, AttributeError):
        code, text = None, None
    detail = ": ".join(str(x) for x in (code, text) if x)
    return f"Graph answered {answer.status_code}" + (f" {' '.join(detail.split())[:300]}"
                                                      if detail else "")


def send_all(batch: Iterable[Outgoing], mail: GraphMail, now: Callable[[], dt.datetime],
             on_result: Callable[[Result], None],
             before: Callable[[Outgoing], None] = lambda o: None, drafts: bool = False) -> None:
    """Each message sent (or saved as a mailbox draft), every outcome reported through
    `on_result` as it happens; `before` is told just before a message goes to Graph."""
    for outgoing in batch:
        before(outgoing)
        try:
            raw = outgoing.message.as_bytes()
            if drafts:
                answer = f"draft {mail.draft(raw)}"
                on_result(Result(outgoing, "drafted", now(), None, answer))
            else:
                on_result(Result(outgoing, "sent", now(), None, mail.send(raw)))
        except GraphRefused as exc:
            on_result(Result(outgoing, "failed", None, str(exc)))
        except DeliveryError as exc:  # the sign-in failed on a renewal: nothing more goes
            on_result(Result(outgoing, "failed", None, f"{exc}; run again to send the rest"))
            return
        except Unreached as exc:
            on_result(Result(outgoing, "failed", None,
                             f"cannot reach Graph ({exc}); run again to send the rest"))
            return
        except MaybeSent as exc:  # never sent twice on a guess: the person checks
            on_result(Result(outgoing, "unknown", None,
                             f"the connection failed after the message was handed to Graph "
                             f"({exc}), so whether it went is not known; check the Sent "
                             "Items of the mailbox, and --resend it if it did not go"))
            return
