"""Email delivery against a real SMTP server on loopback (aiosmtpd), and the drafts."""

from __future__ import annotations

import email
import email.policy
import io
import os
import subprocess
import sys
from decimal import Decimal as D

import pytest
from aiosmtpd.smtp import AuthResult
from pypdf import PdfReader

from brm_xl.delivery.journal import DELIVERIES_SPEC
from brm_xl.pipeline.read import load_inputs
from tests.conftest import Recorder, free_port  # noqa: F401
from tests.helpers import (
    AGENCY_HEADERS,
    Block,
    headcount,
    minimal_book,
    output_rows,
    rate_card,
    usage,
    write_book,
)

HEADS = {"ZEBRA": ("Zoe Zebra", "zoe@zebra.example"), "QUOKKA": ("Quinn Quokka", "quinn@quokka.example"),
         "DOA/OTS": ("Otto Ots", "otto@ots.example")}


def book(tmp_path, heads=HEADS, settings=None):
    agencies = Block("Agencies", AGENCY_HEADERS, [
        (a, f"{a.title()} Agency", name, mail, f"Manager {a[0]}", f"brm.{a[0].lower()}@cio.example", 30)
        for a, (name, mail) in heads.items()])
    b = minimal_book(
        Agencies=agencies,
        RateCard=rate_card(("EMAIL", D("4.00"), "2026-01", None)),
        Usage=usage(*[("2026-09", a, "EMAIL", 10 * (i + 1)) for i, a in enumerate(heads)]),
        Headcount=headcount(*[("2026-09", a, 10) for a in heads]),
    )
    b.settings = settings or [("sender_name", "State CIO"), ("sender_email", "brm@cio.example"),
                              ("reply_to", "brm@cio.example"), ("smtp_host", "127.0.0.1")]
    return write_book(tmp_path / "brm.xlsx", b)


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "brm_xl", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def deliveries(path):
    inputs, _ = load_inputs(path, specs=(), checks=(), previous=(DELIVERIES_SPEC,))
    return inputs.previous.get("Deliveries", [])


def send(path, port, *extra, env=None):
    return cli("email", path, "--period", "2026-09", "--send", "--yes", "--no-tls", "--smtp-port", port,
               "--as-of", "2026-10-01", *extra, env=env)


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_send_delivers_each_agency_its_own_report_once(tmp_path, smtp):
    handler = Recorder()
    port = smtp(handler)
    path = book(tmp_path)
    done = send(path, port)
    assert done.returncode == 0, done.stderr
    assert "warning: sending WITHOUT TLS" in done.stderr
    assert len(handler.messages) == 3
    for mail_from, rcpts, msg in handler.messages:
        agency = next(a for a, (_n, m) in HEADS.items() if m in str(msg["To"]))
        name, address = HEADS[agency]
        assert mail_from == "brm@cio.example" and msg["From"] == "State CIO <brm@cio.example>"
        assert msg["To"] == f"{name} <{address}>"
        assert msg["Cc"] == f"Manager {agency[0]} <brm.{agency[0].lower()}@cio.example>"
        assert set(rcpts) == {address, f"brm.{agency[0].lower()}@cio.example"}
        assert msg["Subject"] == f"Office of the State CIO: the value of shared IT to {agency.title()} Agency, September 2026"
        assert msg["X-Unsent"] is None
        types = [p.get_content_type() for p in msg.walk()]
        assert types == ["multipart/mixed", "multipart/alternative", "text/plain",
                         "multipart/related", "text/html", "image/png", "application/pdf"]
        html = msg.get_body(("html",)).get_content()
        png = next(p for p in msg.walk() if p.get_content_type() == "image/png")
        assert f"cid:{png['Content-ID'][1:-1]}" in html
        pdf = next(p for p in msg.walk() if p.get_content_type() == "application/pdf")
        assert pdf.get_filename() == f"2026-09_{agency.replace('/', '-')}_value_report.pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_content())).pages)
        assert f"{agency.title()} Agency" in text
        for other in HEADS:
            if other != agency:
                assert f"{other.title()} Agency" not in text + html + msg.get_body(("plain",)).get_content()
    log = deliveries(path)
    assert sorted((r["agency_id"], r["status"]) for r in log) == [
        ("DOA/OTS", "sent"), ("QUOKKA", "sent"), ("ZEBRA", "sent")]
    assert all(r["period"] == "2026-09" and r["message_id"].startswith("<") for r in log)
    audit = [r for r in output_rows(path, "AuditLog") if r["action"] == "send"]
    assert [r["after"] for r in audit] == ["3 sent, 0 failed or unknown"]
    again = send(path, port)
    assert again.returncode == 0 and "already sent for 2026-09" in again.stdout
    assert len(handler.messages) == 3
    resent = send(path, port, "--resend", "--agency", "zebra")
    assert resent.returncode == 0 and len(handler.messages) == 4
    assert len(deliveries(path)) == 4


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_refused_recipient_fails_that_message_and_the_rerun_finishes(tmp_path, smtp):
    refusing = Recorder(refuse={"quinn@quokka.example"})
    path = book(tmp_path)
    done = send(path, smtp(refusing))
    assert done.returncode == 1
    assert "QUOKKA: failed (recipient refused: quinn@quokka.example: 550 5.1.1 mailbox unavailable)" in done.stdout
    log = {r["agency_id"]: r for r in deliveries(path)}
    assert log["QUOKKA"]["status"] == "failed" and "550" in log["QUOKKA"]["error"]
    assert log["ZEBRA"]["status"] == log["DOA/OTS"]["status"] == "sent"
    fixed = Recorder()
    rerun = send(path, smtp(fixed))
    assert rerun.returncode == 0
    assert [m[2]["To"] for m in fixed.messages] == ["Quinn Quokka <quinn@quokka.example>"]


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_dropped_connection_mid_batch_then_rerun_without_duplicates(tmp_path, smtp):
    dropping = Recorder(drop_on=2)
    path = book(tmp_path)
    done = send(path, smtp(dropping))
    assert done.returncode == 1
    assert "connection lost" in done.stdout and "not attempted 1" in done.stdout
    log = deliveries(path)
    assert [r["status"] for r in log] == ["sent", "failed"]
    assert "connection lost" in log[1]["error"]
    good = Recorder()
    rerun = send(path, smtp(good))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    first = {str(m[2]["To"]) for m in dropping.messages}
    second = {str(m[2]["To"]) for m in good.messages}
    assert len(first) == 1 and len(second) == 2 and not first & second
    assert sorted(r["status"] for r in deliveries(path)) == ["failed", "sent", "sent", "sent"]


def test_drafts_parse_and_are_unsent(tmp_path):
    path = book(tmp_path)
    done = cli("email", path, "--period", "2026-09", "--attach-xlsx", "--as-of", "2026-10-01")
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "outbox" / "2026-09"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["2026-09_DOA-OTS_value_report.eml", "2026-09_QUOKKA_value_report.eml",
                     "2026-09_ZEBRA_value_report.eml"]
    msg = email.message_from_bytes((folder / names[0]).read_bytes(), policy=email.policy.default)
    assert msg["X-Unsent"] == "1" and msg["To"] == "Otto Ots <otto@ots.example>"
    files = [p.get_filename() for p in msg.iter_attachments()]
    assert files == ["2026-09_DOA-OTS_value_report.pdf", "2026-09_DOA-OTS_value_report.xlsx"]
    assert deliveries(path) == []  # drafts change nothing in the workbook


def test_names_cannot_inject_headers(tmp_path, smtp):
    heads = {"ZEBRA": ("Zoe\r\nBcc: evil@attacker.example", "zoe@zebra.example")}
    path = book(tmp_path, heads=heads)
    handler = Recorder()
    assert send(path, smtp(handler)).returncode == 0
    (mail_from, rcpts, msg) = handler.messages[0]
    assert msg["Bcc"] is None and rcpts == ["zoe@zebra.example", "brm.z@cio.example"]
    assert msg["To"] == '"Zoe Bcc: evil@attacker.example" <zoe@zebra.example>'


def test_addresses_are_checked_first(tmp_path):
    heads = {"ZEBRA": ("Zoe", "zoe@zebra.example"), "QUOKKA": ("Quinn", None)}
    path = book(tmp_path, heads=heads, settings=[("smtp_host", "127.0.0.1")])
    done = cli("email", path, "--period", "2026-09")
    assert done.returncode == 1
    assert "Agencies!D3: head_email is blank for QUOKKA; the report has no one to go to" in done.stderr
    assert "Settings: sender_email is not set" in done.stderr


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_tls_and_passwords(tmp_path, smtp, loopback_tls):
    plain = smtp(Recorder())
    settings = [("sender_email", "brm@cio.example"), ("smtp_password", "hunter2")]
    path = book(tmp_path, settings=settings)
    no_tls = cli("email", path, "--period", "2026-09", "--send", "--yes", "--smtp-host", "127.0.0.1",
                 "--smtp-port", plain, "--agency", "ZEBRA")
    assert no_tls.returncode == 1 and "does not offer STARTTLS" in no_tls.stderr
    users = []

    def authenticate(server, session, envelope, mechanism, auth_data):
        users.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")

    port = smtp(Recorder(), auth_required=True, authenticator=authenticate,
                tls_context=loopback_tls.server_context())  # STARTTLS, then the login
    env = {**loopback_tls.env(), "BRM_SMTP_PASSWORD": "",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}

    def tls_send(*extra, env):
        return cli("email", path, "--period", "2026-09", "--send", "--yes", "--smtp-port", port,
                   "--as-of", "2026-10-01", "--smtp-host", "127.0.0.1", *extra, env=env)
    missing = tls_send("--smtp-user", "brm", env=env)
    assert missing.returncode == 1 and "no password for brm: set BRM_SMTP_PASSWORD" in missing.stderr
    ok = tls_send("--smtp-user", "brm", env={**env, "BRM_SMTP_PASSWORD": "s3cret"})
    assert ok.returncode == 0, ok.stderr
    assert users and all(pw == b"s3cret" for _u, pw in users)  # never hunter2 from Settings
    # a login is never sent in clear: --no-tls with a user is refused before connecting
    clear = send(path, port, "--smtp-host", "127.0.0.1", "--smtp-user", "brm", "--resend",
                 env={**env, "BRM_SMTP_PASSWORD": "s3cret"})
    assert clear.returncode == 1 and "would send the password in clear" in clear.stderr
    assert len(users) == 1
