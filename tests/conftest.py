"""Fixtures shared by the test modules: a real SMTP server on loopback, and the test CA
the loopback HTTPS and STARTTLS servers use (`loopback_tls`, `trust_loopback`)."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller

from .loopback_tls import loopback_tls, trust_loopback  # noqa: F401 - fixtures


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Accepts everything; `refuse` recipients get 550; `drop_on` drops the connection."""

    def __init__(self, refuse=(), drop_on=None):
        self.messages = []
        self.refuse = set(refuse)
        self.drop_on = drop_on

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.drop_on is not None and len(self.messages) + 1 == self.drop_on:
            server.transport.close()
            return "421 closing"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 Message accepted"


@pytest.fixture
def smtp():
    servers = []

    def start(handler, **kwargs):
        controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        servers.append(controller)
        return controller.port

    yield start
    for controller in servers:
        controller.stop()


