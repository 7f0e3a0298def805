"""A loopback SMTP submission server that takes OAuth 2.0 bearer tokens (SASL XOAUTH2).

Shaped like Exchange Online's smtp.office365.com:587: STARTTLS first (required
before MAIL and AUTH), then ``AUTH XOAUTH2`` whose blob is
``base64("user=" + user + "\\x01auth=Bearer " + token + "\\x01\\x01")``.
Password mechanisms are refused: PLAIN is not offered (an attempt answers 504),
LOGIN is offered only with ``advertise_login=True`` (as Exchange does when
basic authentication is disabled) and always answers
``535 5.7.139 Authentication unsuccessful, basic authentication is disabled.``
Every AUTH attempt is recorded with its mechanism.

    with SMTPOAuthServer(loopback_tls, user=g.mailbox,
                         validator=g.is_valid_token) as srv:
        with smtplib.SMTP(srv.host, srv.port) as s:
            s.starttls(context=loopback_tls.client_context())
            s.ehlo()
            s.auth("XOAUTH2", lambda challenge=None: xoauth2_string(user, token),
                   initial_response_ok=True)
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult


def xoauth2_string(user: str, token: str) -> str:
    """The XOAUTH2 initial response before base64 (smtplib's auth() encodes it)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def xoauth2_blob(user: str, token: str) -> str:
    return base64.b64encode(xoauth2_string(user, token).encode()).decode("ascii")


@dataclass
class AuthAttempt:
    mechanism: str
    user: str | None = None
    success: bool = False
    reason: str = ""


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    user: str | None          # who authenticated


class _Handler:
    def __init__(self, owner: SMTPOAuthServer) -> None:
        self.owner = owner

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        owner = self.owner
        if len(args) == 1:                       # no initial response: empty challenge
            blob = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):
                owner._attempt_result(False, None, "aborted")
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except (binascii.Error, ValueError):
                owner._attempt_result(False, None, "bad base64")
                return AuthResult(success=False, handled=False,
                                  message="501 5.5.2 Cannot decode base64")
        user, token = _parse_xoauth2(blob)
        ok, reason = owner._check(user, token)
        owner._attempt_result(ok, user, reason)
        if ok:
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False,
                          message="535 5.7.3 Authentication unsuccessful")

    async def auth_LOGIN(self, server: SMTP, args: list[str]) -> AuthResult:
        # Only reachable with advertise_login=True: Exchange's answer with basic auth off.
        self.owner._attempt_result(False, None, "basic authentication is disabled")
        return AuthResult(success=False, handled=False,
                          message="535 5.7.139 Authentication unsuccessful, basic "
                                  "authentication is disabled.")

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.owner._lock:
            self.owner.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                                raw, message, session.auth_data))
        return "250 2.6.0 Queued mail for delivery"


def _parse_xoauth2(blob: bytes) -> tuple[str | None, str | None]:
    fields = {}
    for part in blob.decode("utf-8", "replace").split("\x01"):
        key, sep, value = part.partition("=")
        if sep:
            fields[key] = value
    auth = fields.get("auth", "")
    token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
    return fields.get("user"), token


class _RecordingSMTP(SMTP):
    """aiosmtpd's SMTP that records the mechanism of every AUTH command first."""

    def __init__(self, handler, owner: SMTPOAuthServer, **kwargs) -> None:
        super().__init__(handler, **kwargs)
        self._owner = owner

    async def smtp_AUTH(self, arg: str) -> None:
        mechanism = (arg or "").split()[0].upper() if (arg or "").split() else ""
        self._owner._attempt_start(mechanism)
        await super().smtp_AUTH(arg)


class _Controller(Controller):
    def __init__(self, owner: SMTPOAuthServer, **kwargs) -> None:
        self.owner = owner
        super().__init__(owner.handler, **kwargs)

    def factory(self) -> SMTP:
        return _RecordingSMTP(self.handler, self.owner, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        # port=0 asks the OS for a free port; learn it before the trigger connects.
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPOAuthServer:
    """STARTTLS + AUTH XOAUTH2 on 127.0.0.1 (random port). Use as a context manager.

    A token is accepted if it is in `accepted_tokens` (a set you may add to later)
    or `validator(token)` is true; `user`, when given, must match the blob's user
    (case-insensitive).
    """

    def __init__(self, tls, *, user: str | None = None,
                 accepted_tokens: Iterable[str] = (),
                 validator: Callable[[str], bool] | None = None,
                 advertise_login: bool = False, require_auth: bool = True,
                 hostname: str = "127.0.0.1") -> None:
        self.tls = tls
        self.user = user
        self.accepted_tokens = set(accepted_tokens)
        self.validator = validator
        self.advertise_login = advertise_login
        self.require_auth = require_auth
        self.host = hostname
        self.port = 0
        self.handler = _Handler(self)
        self.messages: list[Received] = []
        self.auth_attempts: list[AuthAttempt] = []
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    @property
    def password_attempts(self) -> list[AuthAttempt]:
        return [a for a in self.auth_attempts if a.mechanism in ("LOGIN", "PLAIN")]

    def _attempt_start(self, mechanism: str) -> None:
        with self._lock:
            self.auth_attempts.append(AuthAttempt(mechanism, reason="refused"))

    def _attempt_result(self, success: bool, user: str | None, reason: str) -> None:
        with self._lock:
            attempt = self.auth_attempts[-1]
            attempt.success, attempt.user, attempt.reason = success, user, reason

    def _check(self, user: str | None, token: str | None) -> tuple[bool, str]:
        if not user or not token:
            return False, "malformed XOAUTH2 blob"
        if self.user is not None and user.lower() != self.user.lower():
            return False, f"user {user!r} is not {self.user!r}"
        if token in self.accepted_tokens:
            return True, "ok"
        if self.validator is not None and self.validator(token):
            return True, "ok"
        return False, "token not accepted"

    def start(self) -> SMTPOAuthServer:
        exclude = ["PLAIN"] + ([] if self.advertise_login else ["LOGIN"])
        self._controller = _Controller(
            self, hostname=self.host, port=0,
            tls_context=self.tls.server_context(), require_starttls=True,
            auth_required=self.require_auth, auth_require_tls=True,
            auth_exclude_mechanism=exclude, server_hostname="smtp.loopback.test",
            ready_timeout=5.0)
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SMTPOAuthServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
