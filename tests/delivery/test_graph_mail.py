"""Microsoft 365 mail against loopback servers that speak the documented protocols: the
identity platform's token endpoint and Graph's sendMail and messages (HTTPS, a test CA,
msal itself signing in), and an SMTP server that takes XOAUTH2 only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from brm_xl.app.usecases import send_emails
from brm_xl.delivery.outlook import as_draft
from brm_xl.problems import DeliveryError
from tests.delivery.test_email import HEADS, book, cli, deliveries
from tests.graph_emulator import GraphEmulator
from tests.loopback_tls import LoopbackTLS
from tests.smtp_oauth import SMTPOAuthServer

AS_OF = "2026-10-01"


def graph_book(tmp_path: Path, g: GraphEmulator, mailbox: str | None = None, **more: str) -> Path:
    settings = [("sender_name", "State CIO"), ("sender_email", "brm@cio.example"),
                ("mail_transport", "graph"), ("graph_tenant_id", g.tenant),
                ("graph_client_id", g.client_id), ("graph_mailbox", g.mailbox if mailbox is None
                                                    else mailbox),
                ("graph_authority_host", g.base_url), ("graph_endpoint", g.base_url),
                *more.items()]
    return book(tmp_path, settings=[(k, v) for k, v in settings if v != ""])


def env_for(tls: LoopbackTLS, g: GraphEmulator, **more: str) -> dict[str, str]:
    return {**tls.env(), "BRM_GRAPH_CLIENT_SECRET": g.secret, **trust(g), **more}


def trust(g: GraphEmulator) -> dict[str, str]:
    """The loopback emulator stands in for Microsoft's hosts: this machine lists it."""
    return {"BRM_GRAPH_TRUST_HOSTS": "127.0.0.1"}


def email(path: Path, *args: str, env: dict[str, str]) -> object:
    return cli("email", path, "--period", "2026-09", "--as-of", AS_OF, *args, env=env)


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_graph_sends_each_agency_head_one_message_with_its_pdf_and_a_rerun_sends_none(
        tmp_path, loopback_tls):
    with GraphEmulator(loopback_tls) as g:
        path = graph_book(tmp_path, g)
        env = env_for(loopback_tls, g)
        done = email(path, "--send", "--yes", env=env)
        assert done.returncode == 0, done.stderr
        assert "Sent 3, failed 0" in done.stdout
        to = sorted(str(m["To"]) for m in g.sent)
        assert to == sorted(f"{name} <{mail}>" for name, mail in HEADS.values())
        for message in g.sent:
            pdfs = [p for p in message.iter_attachments()
                    if p.get_content_type() == "application/pdf"]
            assert len(pdfs) == 1 and pdfs[0].get_payload(decode=True)[:5] == b"%PDF-"
            assert message["From"].addresses[0].addr_spec == "brm@cio.example"
        # a token for Graph itself, asked for as the app (client credentials, the secret)
        assert set(g.client_auth) == {"secret"} and all(
            s == [f"{g.base_url}/.default"] for s in g.scopes)
        rows = deliveries(path)
        assert sorted(r["status"] for r in rows) == ["sent"] * 3
        assert all("accepted for delivery, request-id" in r["answer"] for r in rows)
        posts = len([r for r in g.requests if r[0] == "POST"])
        again = email(path, "--send", "--yes", env=env)
        assert again.returncode == 0, again.stderr
        assert "Sent 0, failed 0" in again.stdout and len(g.sent) == 3
        # nothing left to send: no sign-in, no message built or posted
        assert len([r for r in g.requests if r[0] == "POST"]) == posts


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_mailbox_drafts_leave_one_draft_per_agency_and_send_nothing(tmp_path, loopback_tls):
    with GraphEmulator(loopback_tls) as g:
        path = graph_book(tmp_path, g)
        env = env_for(loopback_tls, g)
        done = email(path, "--mailbox-drafts", env=env)
        assert done.returncode == 0, done.stderr
        assert "Saved 3 draft(s) in the mailbox" in done.stdout
        assert len(g.drafts) == 3 and not g.sent
        assert sorted(r["status"] for r in deliveries(path)) == ["drafted"] * 3
        ids = {i for i, _ in g.drafts}
        assert {r["answer"].split()[-1] for r in deliveries(path)} == ids
        again = email(path, "--mailbox-drafts", env=env)
        assert again.returncode == 0 and len(g.drafts) == 3
        assert "is in the mailbox already" in again.stdout
        # --send now: the drafts may have gone from Outlook already; nothing sent unasked
        sent = email(path, "--send", "--yes", env=env)
        assert sent.returncode == 0 and not g.sent
        assert "may already have gone from Outlook" in sent.stderr


def test_throttling_and_an_expired_token_are_survived(tmp_path, loopback_tls, monkeypatch):
    loopback_tls.trust(monkeypatch)
    monkeypatch.setenv("BRM_GRAPH_TRUST_HOSTS", "127.0.0.1")
    with GraphEmulator(loopback_tls) as g:
        monkeypatch.setenv("BRM_GRAPH_CLIENT_SECRET", g.secret)
        path = graph_book(tmp_path, g)
        g.throttle_next(1, retry_after=1)
        seen = []

        def after(result):
            seen.append(result.status)
            if len(seen) == 1:
                g.expire_tokens()  # the cached token is refused from now on

        outcome = send_emails(path, "2026-09", as_of=dt.date(2026, 10, 1), on_result=after)
        assert seen == ["sent"] * 3 and len(g.sent) == 3
        assert g.tokens_issued == 2  # renewed once, after the 401
        assert sum(1 for r in g.requests if r[0] == "POST" and r[1].endswith("/sendMail")) == 5
        assert outcome.complete


def test_a_refused_secret_stops_before_any_message_is_built(tmp_path, loopback_tls):
    with GraphEmulator(loopback_tls) as g:
        path = graph_book(tmp_path, g)
        done = email(path, "--send", "--yes",
                     env=env_for(loopback_tls, g, BRM_GRAPH_CLIENT_SECRET="wrong"))
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert "was refused" in done.stderr and "AADSTS7000215" in done.stderr
        assert not g.sent and not [r for r in g.requests if "/v1.0/" in r[1]]
        assert deliveries(path) == []
        missing = email(path, "--send", "--yes", env={**loopback_tls.env(), **trust(g),
                                                      "BRM_GRAPH_CLIENT_SECRET": ""})
        assert missing.returncode == 1 and "BRM_GRAPH_CLIENT_SECRET" in missing.stderr


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_a_certificate_signs_in_and_one_in_the_workbooks_folder_is_refused(tmp_path,
                                                                          loopback_tls):
    import trustme

    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    cert = ca.issue_cert("brm-xl-app", key_type=trustme.KeyType.RSA)
    pem = cert.private_key_pem.bytes().decode() + cert.cert_chain_pems[0].bytes().decode()
    outside = tmp_path / "profile" / "app.pem"
    outside.parent.mkdir()
    outside.write_text(pem)
    with GraphEmulator(loopback_tls, certificate_pem=cert.cert_chain_pems[0].bytes()) as g:
        books = tmp_path / "books"
        books.mkdir()
        path = graph_book(books, g)
        inside = books / "app.pem"
        inside.write_text(pem)
        env = {**loopback_tls.env(), **trust(g), "BRM_GRAPH_CLIENT_SECRET": "",
               "BRM_GRAPH_CERT": str(inside)}
        refused = email(path, "--send", "--yes", env=env)
        assert refused.returncode == 1 and "keep the certificate outside it" in refused.stderr
        env["BRM_GRAPH_CERT"] = str(outside)
        done = email(path, "--send", "--yes", env=env)
        assert done.returncode == 0, done.stderr
        assert set(g.client_auth) == {"assertion"} and len(g.sent) == 3


@pytest.mark.slow  # end to end, many seconds: .ci/run runs the slow tests
def test_the_managers_own_mailbox_by_device_code_then_from_the_cache(tmp_path, loopback_tls,
                                                                    monkeypatch):
    loopback_tls.trust(monkeypatch)
    monkeypatch.setenv("BRM_GRAPH_CACHE_DIR", str(tmp_path / "profile"))
    monkeypatch.setenv("BRM_GRAPH_PLAIN_CACHE", "1")  # no libsecret on a CI machine
    monkeypatch.setenv("BRM_GRAPH_TRUST_HOSTS", "127.0.0.1")
    with GraphEmulator(loopback_tls, user="pat.manager@cio.example") as g:
        path = graph_book(tmp_path, g, mailbox="")
        told = []
        outcome = send_emails(path, "2026-09", as_of=dt.date(2026, 10, 1), say=told.append)
        assert outcome.complete and len(g.sent) == 3
        assert len(told) == 1 and "enter the code" in told[0].lower()
        assert all(r[1].startswith("/v1.0/me/") for r in g.requests
                   if r[0] == "POST" and "/v1.0/" in r[1])
        assert len(g.device_flows) == 1
        # next month: signed in already (the cache in the profile), no code asked
        (tmp_path / "next").mkdir()
        path2 = graph_book(tmp_path / "next", g, mailbox="")
        again = send_emails(path2, "2026-09", as_of=dt.date(2026, 10, 1), say=told.append,
                            interactive=False)
        assert again.complete and len(told) == 1 and len(g.device_flows) == 1


def test_a_plain_token_cache_only_when_asked(tmp_path, monkeypatch):
    from brm_xl.delivery import signin

    monkeypatch.setenv("BRM_GRAPH_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("BRM_GRAPH_PLAIN_CACHE", raising=False)
    try:
        signin.token_cache()
    except DeliveryError as exc:  # this machine cannot encrypt it: says so, writes nothing
        assert "BRM_GRAPH_PLAIN_CACHE=1" in str(exc)
        assert not (tmp_path / "msal_token_cache.bin").exists()


def test_smtp_xoauth2_delivers_every_message_and_never_tries_a_password(tmp_path, loopback_tls):
    with GraphEmulator(loopback_tls) as g, SMTPOAuthServer(
            loopback_tls, user=g.mailbox, validator=g.is_valid_token,
            advertise_login=True) as server:
        path = graph_book(tmp_path, g, mail_transport="smtp", smtp_host="127.0.0.1",
                          smtp_port=str(server.port), smtp_auth="oauth2")
        env = env_for(loopback_tls, g, BRM_SMTP_PASSWORD="never-used", BRM_SMTP_USER="x@y.z")
        done = cli("email", path, "--period", "2026-09", "--as-of", AS_OF, "--send", "--yes",
                   env=env)
        assert done.returncode == 0, done.stderr
        assert len(server.messages) == 3 and not server.password_attempts
        assert {a.mechanism for a in server.auth_attempts} == {"XOAUTH2"}
        assert all(m.user == g.mailbox for m in server.messages)
        assert g.scopes[-1] == ["https://outlook.office365.com/.default"]


def test_a_server_without_starttls_stops_the_send_before_anything_is_built(tmp_path, smtp,
                                                                           monkeypatch):
    import brm_xl.delivery.run as run
    from brm_xl.app.usecases import SmtpOptions
    from tests.conftest import Recorder

    port = smtp(Recorder())  # plain SMTP, no STARTTLS offered
    path = book(tmp_path)

    def never(*args, **kwargs):
        raise AssertionError("a message was built before the transport was checked")
    monkeypatch.setattr(run, "build", never)
    with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
        send_emails(path, "2026-09", as_of=dt.date(2026, 10, 1), smtp=SmtpOptions(port=port))
    assert deliveries(path) == []


def test_an_outlook_draft_carries_the_message_as_built(tmp_path):
    from brm_xl.app.usecases import draft_emails

    path = book(tmp_path)
    _, drafts = draft_emails(path, "2026-09", as_of=dt.date(2026, 10, 1))
    import email as email_lib
    import email.policy

    message = email_lib.message_from_bytes(drafts[0].read_bytes(), policy=email.policy.default)
    draft = as_draft(message)
    assert draft.to == str(message["To"]) and draft.cc == str(message["Cc"])
    assert draft.subject == str(message["Subject"]) and "<html" in draft.html.lower()
    kinds = {(a.filename.rsplit(".", 1)[-1], a.content_id is not None) for a in draft.attachments}
    assert kinds == {("png", True), ("pdf", False)}
    png = next(a for a in draft.attachments if a.content_id)
    assert f"cid:{png.content_id}" in draft.html and png.content[:4] == b"\x89PNG"



def test_the_secret_goes_only_to_microsoft_or_a_host_this_machine_lists(tmp_path, loopback_tls):
    with GraphEmulator(loopback_tls) as g:
        path = graph_book(tmp_path, g)  # a workbook naming another sign-in host
        done = email(path, "--send", "--yes", env={**loopback_tls.env(),
                                                   "BRM_GRAPH_CLIENT_SECRET": g.secret,
                                                   "BRM_GRAPH_TRUST_HOSTS": ""})
        assert done.returncode == 1 and "is not a Microsoft 365 host" in done.stderr
        assert not g.requests  # nothing, not even the discovery, reached it
