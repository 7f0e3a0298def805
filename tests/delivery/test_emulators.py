"""The loopback emulators, proved with the real msal, requests and smtplib."""

from __future__ import annotations

import base64
import hashlib
import smtplib
import ssl
from email.message import EmailMessage

import msal
import pytest
import requests
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.graph_emulator import GraphEmulator
from tests.loopback_tls import LoopbackTLS
from tests.smtp_oauth import SMTPOAuthServer, xoauth2_string

GRAPH = ["https://graph.microsoft.com/.default"]


@pytest.fixture
def graph(trust_loopback):
    with GraphEmulator(trust_loopback, device_interval=1, device_pending_polls=1) as g:
        yield g


def confidential(g: GraphEmulator, credential=None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        g.client_id, authority=g.authority, client_credential=credential or g.secret,
        instance_discovery=False)


def mime(subject="FY25 value report", to="head@agency.example") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "value.reports@contoso.example"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = "<report-1@contoso.example>"
    msg.set_content("Dear agency head,\n\nyour value report is attached.\n")
    msg.add_attachment(b"PK\x03\x04fake-xlsx", maintype="application",
                       subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       filename="value report.xlsx")
    return msg


def send_mime(g: GraphEmulator, token: str, raw: bytes, who: str | None = None,
              **headers) -> requests.Response:
    where = "me" if who == "me" else f"users/{who or g.mailbox}"
    return requests.post(f"{g.graph_url}/{where}/sendMail", data=base64.b64encode(raw),
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "text/plain", **headers}, timeout=5)


def test_client_credentials_over_https_and_cache(graph):
    app = confidential(graph)
    first = app.acquire_token_for_client(scopes=GRAPH)
    assert "access_token" in first, first
    assert first["token_type"] == "Bearer" and first["expires_in"] > 0
    assert first["token_source"] == "identity_provider"
    discovery = [r.path for r in graph.requests if r.method == "GET"]
    assert discovery == [f"/{graph.tenant}/v2.0/.well-known/openid-configuration"]
    assert graph.scopes == [GRAPH] and graph.client_auth == ["secret"]

    count = len(graph.requests)
    again = app.acquire_token_for_client(scopes=GRAPH)
    assert again["access_token"] == first["access_token"]
    assert again["token_source"] == "cache"
    assert len(graph.requests) == count and graph.tokens_issued == 1


def test_wrong_secret_is_invalid_client(graph):
    app = confidential(graph, credential="not-the-secret")
    result = app.acquire_token_for_client(scopes=GRAPH)
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret")
    assert graph.tokens_issued == 0


def test_client_credentials_needs_default_scope(graph):
    result = confidential(graph).acquire_token_for_client(
        scopes=["https://graph.microsoft.com/Mail.Send"])
    assert result["error"] == "invalid_scope" and result["error_codes"] == [1002012]


def test_certificate_assertion(trust_loopback):  # noqa: F811
    # Entra app certificates are RSA; trustme's default key type is EC.
    leaf = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "brm-xl-app", key_type=trustme.KeyType.RSA)
    cert_pem = leaf.cert_chain_pems[0].bytes()
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)
    with GraphEmulator(trust_loopback, certificate_pem=cert_pem) as g:
        app = confidential(g, credential={
            "private_key": leaf.private_key_pem.bytes().decode(),
            "thumbprint": hashlib.sha1(der).hexdigest(),
            "public_certificate": cert_pem.decode()})
        result = app.acquire_token_for_client(scopes=GRAPH)
        assert "access_token" in result, result
        assert g.client_auth == ["assertion"]
        header, claims = g.assertions[0]
        assert header["alg"] in ("RS256", "PS256")
        assert claims["aud"] == g.token_endpoint
        assert claims["iss"] == claims["sub"] == g.client_id
        assert g.token_info(result["access_token"]).assertion


def test_device_flow_pending_then_token_and_account(graph):
    app = msal.PublicClientApplication(graph.client_id, authority=graph.authority,
                                       instance_discovery=False)
    flow = app.initiate_device_flow(scopes=["https://graph.microsoft.com/Mail.Send"])
    assert flow["user_code"] and flow["verification_uri"].endswith("/devicelogin")
    assert flow["user_code"] in flow["message"] and flow["interval"] == 1
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    assert graph.grants.count("urn:ietf:params:oauth:grant-type:device_code") == 2  # pending
    assert result["id_token_claims"]["preferred_username"] == graph.mailbox
    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == [graph.mailbox]
    assert accounts[0]["home_account_id"] == f"{graph.user_oid}.{graph.tenant}"
    silent = app.acquire_token_silent(["https://graph.microsoft.com/Mail.Send"],
                                      account=accounts[0])
    assert silent["access_token"] == result["access_token"]

    msg = mime()
    assert send_mime(graph, result["access_token"], msg.as_bytes(), "me").status_code == 202
    graph.expire_tokens()
    refreshed = app.acquire_token_silent(["https://graph.microsoft.com/Mail.Send"],
                                         account=accounts[0], force_refresh=True)
    assert refreshed["access_token"] != result["access_token"]
    assert graph.grants[-1] == "refresh_token"


def test_send_mail_mime_round_trip(graph):
    token = confidential(graph).acquire_token_for_client(scopes=GRAPH)["access_token"]
    raw = mime().as_bytes()
    response = send_mime(graph, token, raw, **{"client-request-id": "abc-123"})
    assert response.status_code == 202 and response.content == b""
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"]
    assert graph.sent_raw == [raw]
    sent = graph.sent[0]
    assert sent["Subject"] == "FY25 value report"
    assert [p.get_filename() for p in sent.iter_attachments()] == ["value report.xlsx"]

    draft = requests.post(f"{graph.graph_url}/users/{graph.mailbox}/messages",
                          data=base64.b64encode(raw),
                          headers={"Authorization": f"Bearer {token}",
                                   "Content-Type": "text/plain"}, timeout=5)
    assert draft.status_code == 201
    body = draft.json()
    assert body["isDraft"] is True and body["subject"] == "FY25 value report"
    assert body["toRecipients"] == [{"emailAddress": {"name": "head@agency.example",
                                                      "address": "head@agency.example"}}]
    assert graph.drafts[0][0] == body["id"]


def test_graph_errors(graph):
    token = confidential(graph).acquire_token_for_client(scopes=GRAPH)["access_token"]
    raw = mime().as_bytes()
    me = send_mime(graph, token, raw, "me")
    assert me.status_code == 400
    assert me.json()["error"]["message"].startswith("/me request is only valid")
    other = send_mime(graph, token, raw, "someone@contoso.example")
    assert other.status_code == 404 and other.json()["error"]["code"] == "ErrorInvalidUser"
    bare = requests.post(f"{graph.graph_url}/users/{graph.mailbox}/sendMail",
                         data=base64.b64encode(raw), headers={"Content-Type": "text/plain"},
                         timeout=5)
    assert bare.status_code == 401
    err = bare.json()["error"]
    assert err["code"] == "InvalidAuthenticationToken"
    assert set(err["innerError"]) >= {"request-id", "date"}
    assert send_mime(graph, "made-up", raw).status_code == 401
    graph.fail_next(503, "ServiceUnavailable", "Try later")
    assert send_mime(graph, token, raw).json()["error"]["code"] == "ServiceUnavailable"
    assert graph.sent == []


def test_throttle_then_success(graph):
    token = confidential(graph).acquire_token_for_client(scopes=GRAPH)["access_token"]
    graph.throttle_next(1, retry_after=1)
    raw = mime().as_bytes()
    first = send_mime(graph, token, raw)
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    assert first.json()["error"]["code"] == "TooManyRequests"
    assert send_mime(graph, token, raw).status_code == 202
    assert len(graph.sent) == 1


def test_expired_tokens_answer_401_and_msal_gets_a_new_one(graph):
    app = confidential(graph)
    token = app.acquire_token_for_client(scopes=GRAPH)["access_token"]
    graph.expire_tokens()
    response = send_mime(graph, token, mime().as_bytes())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "expired" in response.json()["error"]["message"]
    assert "Bearer" in response.headers["WWW-Authenticate"]
    # msal still holds it until told otherwise; a forced refresh gets a working one
    fresh = app.acquire_token_for_client(scopes=GRAPH, claims_challenge=None)
    assert fresh["access_token"] == token
    app.remove_tokens_for_client()
    new = app.acquire_token_for_client(scopes=GRAPH)["access_token"]
    assert new != token and send_mime(graph, new, mime().as_bytes()).status_code == 202


def test_smtp_starttls_xoauth2_delivers(graph, loopback_tls: LoopbackTLS):  # noqa: F811
    token = confidential(graph).acquire_token_for_client(scopes=GRAPH)["access_token"]
    with SMTPOAuthServer(loopback_tls, user=graph.mailbox,
                         validator=graph.is_valid_token) as srv:
        with smtplib.SMTP(srv.host, srv.port, timeout=5) as s:
            s.ehlo()
            assert not s.has_extn("auth")          # AUTH only after STARTTLS
            s.starttls(context=ssl.create_default_context())   # SSL_CERT_FILE trusts the CA
            s.ehlo()
            assert s.esmtp_features["auth"].split() == ["XOAUTH2"]
            code, _ = s.auth("XOAUTH2",
                             lambda challenge=None: xoauth2_string(graph.mailbox, token),
                             initial_response_ok=True)
            assert code == 235
            s.send_message(mime())
        assert [m.message["Subject"] for m in srv.messages] == ["FY25 value report"]
        assert srv.messages[0].user == graph.mailbox
        assert [a.mechanism for a in srv.auth_attempts] == ["XOAUTH2"]

        graph.expire_tokens()
        with smtplib.SMTP(srv.host, srv.port, timeout=5) as s:
            s.starttls(context=loopback_tls.client_context())
            s.ehlo()                # smtplib.auth() does not EHLO again by itself
            with pytest.raises(smtplib.SMTPAuthenticationError) as err:
                s.auth("XOAUTH2",
                       lambda challenge=None: xoauth2_string(graph.mailbox, token),
                       initial_response_ok=True)
            assert err.value.smtp_code == 535
            with pytest.raises(smtplib.SMTPException):       # nothing offered for passwords
                s.login(graph.mailbox, "password")
            code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0u\0p").decode())
            assert code == 504
        assert [a.mechanism for a in srv.password_attempts] == ["PLAIN"]


def test_smtp_login_refused_like_exchange(loopback_tls: LoopbackTLS):  # noqa: F811
    with SMTPOAuthServer(loopback_tls, accepted_tokens={"tok"}, advertise_login=True) as srv:
        with smtplib.SMTP(srv.host, srv.port, timeout=5) as s:
            s.starttls(context=loopback_tls.client_context())
            s.ehlo()
            assert s.esmtp_features["auth"].split() == ["LOGIN", "XOAUTH2"]
            with pytest.raises(smtplib.SMTPAuthenticationError) as err:
                s.login("someone@contoso.example", "hunter2")
            assert err.value.smtp_code == 535 and b"5.7.139" in err.value.smtp_error
            with pytest.raises(smtplib.SMTPSenderRefused):   # not authenticated
                s.sendmail("someone@contoso.example", ["x@agency.example"], b"Subject: x\r\n\r\nx")
        assert [a.mechanism for a in srv.password_attempts] == ["LOGIN"]
        assert srv.messages == []
