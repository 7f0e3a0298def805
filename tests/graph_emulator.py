"""A loopback emulator of the Microsoft identity platform and of Microsoft Graph mail.

One threaded HTTPS server on 127.0.0.1 (random port) answers for both:

* the authority ``{base_url}/{tenant}``: OpenID Connect discovery, the v2.0
  token endpoint (client credentials with a secret or a certificate's JWT
  assertion, the device code grant, refresh tokens) and the devicecode
  endpoint, in the request/answer shapes Microsoft documents;
* Graph ``{base_url}/v1.0``: ``sendMail`` and ``messages`` (create a draft),
  in MIME (``Content-Type: text/plain``, base64 body) or JSON, for
  ``/users/{mailbox}`` and ``/me``, with Graph's error JSON.

msal must be told not to ask login.microsoftonline.com about the instance:

    with GraphEmulator(loopback_tls) as g:
        app = msal.ConfidentialClientApplication(
            g.client_id, authority=g.authority, client_credential=g.secret,
            instance_discovery=False)

and the client must trust the test CA (``LoopbackTLS.trust(monkeypatch)``).

Choices where the documentation leaves room are listed in `NOTES` below.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email
import email.policy
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

NOTES = """
* JSON sendMail (Content-Type application/json, {"message": {...}}) is accepted: 202,
  the body kept in `.sent_json`. A body without "message" answers 400 ErrorInvalidRequest.
  Content types other than text/plain and application/json answer 415.
* Unknown mailbox: 404 ErrorInvalidUser. A mailbox in `forbidden_mailboxes` (exists, the
  app may not use it) or another user's mailbox with a delegated token: 403 ErrorAccessDenied.
* A token without the permission (Mail.Send for sendMail, Mail.ReadWrite for messages):
  403 ErrorAccessDenied. App tokens carry `app_roles`; delegated tokens their scopes.
* Throttling answers 429, Retry-After in seconds, code "TooManyRequests".
* Token endpoint errors carry AAD's fields: error, error_description (AADSTSnnnn: ...
  Trace ID / Correlation ID / Timestamp), error_codes, timestamp, trace_id,
  correlation_id, error_uri. invalid_client answers 401; the rest 400.
* Delegated token answers echo the requested scopes minus openid/profile/offline_access.
"""

RESERVED_SCOPES = {"openid", "profile", "offline_access"}
GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    header = {"typ": "JWT", "alg": "none"}
    return ".".join((_b64url(json.dumps(header).encode()),
                     _b64url(json.dumps(claims).encode()), ""))


def _now_iso(seconds: bool = True) -> str:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    return now.isoformat() if seconds else now.isoformat() + "Z"


class Request(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Token:
    """What the emulator knows of an access token it issued."""
    value: str
    kind: str                   # "app" (client credentials) or "delegated"
    scopes: list[str]
    client_id: str
    expires_at: float
    user: str | None = None     # the UPN for delegated tokens
    assertion: bool = False     # the client proved itself with a JWT assertion
    revoked: bool = False       # set by expire_tokens()

    @property
    def expired(self) -> bool:
        return self.revoked or time.time() >= self.expires_at


@dataclass
class Delivery:
    mailbox: str
    raw: bytes | None           # MIME bytes, None for a JSON sendMail
    message: EmailMessage | None
    token_kind: str
    body_json: dict | None = None


@dataclass
class _DeviceFlow:
    device_code: str
    user_code: str
    scopes: list[str]
    client_id: str
    expires_at: float
    pending_left: int
    declined: bool = False
    done: bool = False


@dataclass
class _Fault:
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


class GraphEmulator:
    """The authority and Graph on one loopback HTTPS port. Use as a context manager."""

    def __init__(self, tls, *, tenant: str | None = None, client_id: str | None = None,
                 secret: str | None = None, mailbox: str = "value.reports@contoso.example",
                 user: str | None = None, user_name: str = "Value Reports",
                 public_client_id: str | None = None,
                 forbidden_mailboxes: Iterable[str] = (),
                 app_roles: Iterable[str] = ("Mail.Send", "Mail.ReadWrite"),
                 certificate_pem: bytes | None = None,
                 token_lifetime: int = 3599, device_interval: int = 1,
                 device_pending_polls: int = 1, device_expires_in: int = 900) -> None:
        self.tls = tls
        self.tenant = tenant or str(uuid.uuid4())
        self.client_id = client_id or str(uuid.uuid4())
        # The device flow runs as a public client; by default the same app registration.
        self.public_client_id = public_client_id or self.client_id
        self.secret = secret or "s3cr3t~" + secrets.token_urlsafe(24)
        self.mailbox = mailbox
        self.user = user or mailbox          # the UPN that signs in through the device flow
        self.user_name = user_name
        self.user_oid = str(uuid.uuid4())
        self.mailbox_id = self.user_oid      # /users/{object id} is accepted too
        self.forbidden_mailboxes = {m.lower() for m in forbidden_mailboxes}
        self.app_roles = set(app_roles)
        self.certificate_pem = certificate_pem
        self.token_lifetime = token_lifetime
        self.device_interval = device_interval
        self.device_pending_polls = device_pending_polls
        self.device_expires_in = device_expires_in

        self._lock = threading.Lock()
        self._tokens: dict[str, Token] = {}
        self._refresh: dict[str, Token] = {}
        self._devices: dict[str, _DeviceFlow] = {}
        self._faults: list[_Fault] = []
        # Public records
        self.requests: list[Request] = []
        self.tokens_issued = 0
        self.scopes: list[list[str]] = []          # the scope of every token request
        self.grants: list[str] = []                # grant_type of every token request
        self.client_auth: list[str] = []           # "secret", "assertion" or "none"
        self.assertions: list[tuple[dict, dict]] = []   # (header, claims) of each assertion
        self.device_flows: list[dict] = []         # every devicecode answer
        self.sent: list[EmailMessage] = []
        self.sent_raw: list[bytes] = []
        self.sent_json: list[dict] = []
        self.deliveries: list[Delivery] = []
        self.drafts: list[tuple[str, EmailMessage]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> GraphEmulator:
        emulator = self

        class Handler(_Handler):
            pass
        Handler.emulator = emulator

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        ctx = self.tls.server_context()
        # The handshake happens in the handler thread, not in the accept loop.
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GraphEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ----------------------------------------------------------------- addresses
    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def authority(self) -> str:
        return f"{self.base_url}/{self.tenant}"

    @property
    def token_endpoint(self) -> str:
        return f"{self.authority}/oauth2/v2.0/token"

    @property
    def graph_url(self) -> str:
        return f"{self.base_url}/v1.0"

    # ----------------------------------------------------------------- controls
    def throttle_next(self, n: int = 1, retry_after: int = 1,
                      code: str = "TooManyRequests") -> None:
        """The next `n` Graph requests answer 429 with Retry-After."""
        with self._lock:
            for _ in range(n):
                self._faults.append(_Fault(429, code, "Please retry after the time given "
                                           "in the Retry-After header.",
                                           {"Retry-After": str(retry_after)}))

    def fail_next(self, status: int, code: str, message: str = "",
                  headers: dict[str, str] | None = None) -> None:
        """The next Graph request answers `status` with Graph's error JSON."""
        with self._lock:
            self._faults.append(_Fault(status, code, message, dict(headers or {})))

    def expire_tokens(self) -> None:
        """Every access token issued so far answers 401 from now on."""
        with self._lock:
            for token in self._tokens.values():
                token.revoked = True

    def decline_device_flows(self) -> None:
        """Pending device flows answer authorization_declined."""
        with self._lock:
            for flow in self._devices.values():
                flow.declined = True

    def token_info(self, value: str) -> Token | None:
        with self._lock:
            return self._tokens.get(value)

    def is_valid_token(self, value: str, scope_contains: str | None = None) -> bool:
        """For other servers (e.g. SMTP XOAUTH2): issued here, not expired, scope matched."""
        token = self.token_info(value)
        if token is None or token.expired:
            return False
        return scope_contains is None or any(scope_contains.lower() in s.lower()
                                             for s in token.scopes)

    @property
    def access_tokens(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    # ----------------------------------------------------------------- identity
    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        base = f"{self.base_url}/{tenant}"
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token",
                                         "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{self.base_url}/{self.tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.graph_url}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                                 "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat",
                                 "auth_time", "acr", "nonce", "preferred_username", "name",
                                 "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    def _known_tenant(self, tenant: str) -> bool:
        return tenant.lower() in {self.tenant.lower(), "organizations", "common"}

    def _aad_error(self, status: int, error: str, code: int, text: str,
                   correlation_id: str | None = None) -> tuple[int, dict]:
        trace, corr = str(uuid.uuid4()), correlation_id or str(uuid.uuid4())
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        return status, {
            "error": error,
            "error_description": (f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\n"
                                  f"Correlation ID: {corr}\r\nTimestamp: {stamp}"),
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": f"{self.base_url}/error?code={code}",
        }

    def _issue(self, kind: str, scopes: list[str], client_id: str, *, user: str | None = None,
               assertion: bool = False, refresh: bool = False,
               client_info: bool = False) -> dict[str, Any]:
        value = "eyJ0eXAi." + secrets.token_urlsafe(32)   # opaque, but Bearer-shaped
        token = Token(value, kind, scopes, client_id, time.time() + self.token_lifetime,
                      user=user, assertion=assertion)
        self._tokens[value] = token
        self.tokens_issued += 1
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(scopes),
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": value,
        }
        if kind == "delegated":
            now = int(time.time())
            answer["id_token"] = _unsigned_jwt({
                "aud": client_id, "iss": f"{self.base_url}/{self.tenant}/v2.0",
                "iat": now, "nbf": now, "exp": now + 3600, "name": self.user_name,
                "oid": self.user_oid, "preferred_username": self.user,
                "sub": _b64url(self.user_oid.encode())[:43], "tid": self.tenant, "ver": "2.0"})
            if client_info:
                answer["client_info"] = _b64url(json.dumps(
                    {"uid": self.user_oid, "utid": self.tenant}).encode())
            if refresh:
                rt = "0.A" + secrets.token_urlsafe(48)
                self._refresh[rt] = token
                answer["refresh_token"] = rt
        return answer

    def _client_ok(self, form: dict[str, str], headers, public: bool) -> tuple[int, dict] | str:
        """Checks the client's credential. Returns "secret"/"assertion"/"none" or an error."""
        client_id = form.get("client_id", "")
        secret = form.get("client_secret")
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return self._aad_error(401, "invalid_client", 7000215,
                                       "Invalid client secret provided.")
        known = {self.client_id} | ({self.public_client_id} if public else set())
        if client_id not in known:
            return self._aad_error(400, "unauthorized_client", 700016,
                                   f"Application with identifier '{client_id}' was not found "
                                   f"in the directory '{self.tenant}'.")
        if form.get("client_assertion"):
            return self._check_assertion(form, client_id)
        if secret is not None:
            if client_id != self.client_id or not secrets.compare_digest(secret, self.secret):
                return self._aad_error(
                    401, "invalid_client", 7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the "
                    "request is the client secret value, not the client secret ID, for a "
                    f"secret added to app '{client_id}'.")
            return "secret"
        if public:
            return "none"
        return self._aad_error(401, "invalid_client", 7000218,
                               "The request body must contain the following parameter: "
                               "'client_assertion' or 'client_secret'.")

    def _check_assertion(self, form: dict[str, str], client_id: str) -> tuple[int, dict] | str:
        if form.get("client_assertion_type") != JWT_BEARER:
            return self._aad_error(400, "invalid_request", 50027,
                                   "Client assertion type must be " + JWT_BEARER + ".")
        raw = form["client_assertion"]
        try:
            head_b64, claims_b64, _sig = raw.split(".")
            header = json.loads(_b64url_decode(head_b64))
            claims = json.loads(_b64url_decode(claims_b64))
        except (ValueError, binascii.Error):
            return self._aad_error(401, "invalid_client", 50027,
                                   "JWT token is invalid or malformed.")
        self.assertions.append((header, claims))
        now = time.time()
        if header.get("alg") not in ("RS256", "PS256") or not (
                header.get("x5t") or header.get("x5t#S256")):
            return self._aad_error(401, "invalid_client", 50027,
                                   "JWT token is invalid or malformed (alg, x5t).")
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return self._aad_error(401, "invalid_client", 700021,
                                   "Client assertion application identifier doesn't match "
                                   "'client_id' parameter.")
        if claims.get("aud") not in (self.token_endpoint,
                                     f"{self.base_url}/{self.tenant}/v2.0"):
            return self._aad_error(401, "invalid_client", 700023,
                                   "Client assertion audience claim does not match Realm "
                                   "issuer.")
        if not claims.get("jti") or not (claims.get("exp", 0) > now - 300
                                         and claims.get("nbf", now) <= now + 300):
            return self._aad_error(401, "invalid_client", 700024,
                                   "Client assertion is not within its valid time range.")
        if self.certificate_pem is not None:
            import jwt  # PyJWT, a dependency of msal
            from cryptography import x509
            key = x509.load_pem_x509_certificate(self.certificate_pem).public_key()
            try:
                jwt.decode(raw, key, algorithms=["RS256", "PS256"],
                           audience=claims.get("aud"))
            except jwt.PyJWTError:
                return self._aad_error(401, "invalid_client", 700027,
                                       "Client assertion contains an invalid signature.")
        return "assertion"

    def handle_token(self, tenant: str, form: dict[str, str], headers) -> tuple[int, dict]:
        grant = form.get("grant_type", "")
        scopes = form.get("scope", "").split()
        correlation = headers.get("client-request-id")
        with self._lock:
            self.grants.append(grant)
            self.scopes.append(scopes)
            public = grant in (DEVICE_CODE_GRANT, "refresh_token")
            checked = self._client_ok(form, headers, public=public)
            if isinstance(checked, tuple):
                return checked
            self.client_auth.append(checked)
            client_id = form.get("client_id") or self.client_id
            client_info = form.get("client_info") == "1"
            if grant == "client_credentials":
                if checked == "none":
                    return self._aad_error(401, "invalid_client", 7000218,
                                           "The request body must contain the following "
                                           "parameter: 'client_assertion' or 'client_secret'.")
                if len(scopes) != 1 or not scopes[0].endswith("/.default"):
                    return self._aad_error(
                        400, "invalid_scope", 1002012,
                        f"The provided value for scope {' '.join(scopes)} is not valid. "
                        "Client credential flows must have a scope value with /.default "
                        "suffixed to the resource identifier (application ID URI).",
                        correlation)
                return 200, self._issue("app", scopes, client_id,
                                        assertion=checked == "assertion")
            if grant == DEVICE_CODE_GRANT:
                flow = self._devices.get(form.get("device_code", ""))
                if flow is None:
                    return self._aad_error(400, "bad_verification_code", 70019,
                                           "The device_code was not recognized.", correlation)
                if time.time() > flow.expires_at:
                    return self._aad_error(400, "expired_token", 70020,
                                           "The provided value for the input parameter "
                                           "'device_code' is not valid. This device code has "
                                           "expired.", correlation)
                if flow.declined:
                    return self._aad_error(400, "authorization_declined", 70000,
                                           "The user declined to authorize.", correlation)
                if flow.done:
                    return self._aad_error(400, "invalid_grant", 54005,
                                           "OAuth2 Authorization code was already redeemed.",
                                           correlation)
                if flow.pending_left > 0:
                    flow.pending_left -= 1
                    return self._aad_error(400, "authorization_pending", 70016,
                                           "OAuth 2.0 device flow error. Authorization is "
                                           "pending. Continue polling.", correlation)
                flow.done = True
                granted = [s for s in flow.scopes if s not in RESERVED_SCOPES]
                return 200, self._issue("delegated", granted, client_id, user=self.user,
                                        refresh="offline_access" in flow.scopes,
                                        client_info=client_info)
            if grant == "refresh_token":
                old = self._refresh.pop(form.get("refresh_token", ""), None)
                if old is None:
                    return self._aad_error(400, "invalid_grant", 9002313,
                                           "Invalid request. Request is malformed or invalid.",
                                           correlation)
                granted = [s for s in scopes if s not in RESERVED_SCOPES] or old.scopes
                return 200, self._issue("delegated", granted, client_id, user=old.user,
                                        refresh=True, client_info=client_info)
            return self._aad_error(400, "unsupported_grant_type", 70003,
                                   f"The app requested an unsupported grant type '{grant}'.",
                                   correlation)

    def handle_devicecode(self, tenant: str, form: dict[str, str]) -> tuple[int, dict]:
        client_id = form.get("client_id", "")
        with self._lock:
            if client_id not in (self.client_id, self.public_client_id):
                return self._aad_error(400, "unauthorized_client", 700016,
                                       f"Application with identifier '{client_id}' was not "
                                       f"found in the directory '{self.tenant}'.")
            scopes = form.get("scope", "").split()
            if not [s for s in scopes if s not in RESERVED_SCOPES]:
                return self._aad_error(400, "invalid_scope", 70011,
                                       "The provided value for the input parameter 'scope' "
                                       "is not valid.")
            user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                                for _ in range(9))
            device_code = "DAQABAAEAAAD" + secrets.token_urlsafe(48)
            self._devices[device_code] = _DeviceFlow(
                device_code, user_code, scopes, client_id,
                time.time() + self.device_expires_in, self.device_pending_polls)
            verification = f"{self.base_url}/devicelogin"
            answer = {
                "user_code": user_code,
                "device_code": device_code,
                "verification_uri": verification,
                "expires_in": self.device_expires_in,
                "interval": self.device_interval,
                "message": (f"To sign in, use a web browser to open the page {verification} "
                            f"and enter the code {user_code} to authenticate."),
            }
            self.device_flows.append(answer)
            return 200, answer

    # ----------------------------------------------------------------- graph
    def graph_error(self, status: int, code: str, message: str, client_request_id: str,
                    request_id: str) -> dict:
        return {"error": {"code": code, "message": message, "innerError": {
            "date": _now_iso(), "request-id": request_id,
            "client-request-id": client_request_id}}}

    def _authorize(self, headers) -> tuple[int, str, str] | Token:
        auth = headers.get("Authorization", "")
        if not auth:
            return 401, "InvalidAuthenticationToken", "Access token is empty."
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return 401, "InvalidAuthenticationToken", "Access token is empty."
        token = self._tokens.get(value.strip())
        if token is None:
            return 401, "InvalidAuthenticationToken", (
                "IDX14100: JWT is not well formed, there are no dots (.).")
        if token.expired:
            return 401, "InvalidAuthenticationToken", (
                "Lifetime validation failed, the token is expired.")
        # the audience is Graph: graph.microsoft.com, or this emulator standing in for it
        # (a client told graph_endpoint = base_url asks for {base_url}/.default)
        if not any(s.startswith(("https://graph.microsoft.com/", f"{self.base_url}/"))
                   for s in token.scopes):
            return 401, "InvalidAuthenticationToken", (
                "Access token validation failure. Invalid audience.")
        return token

    def _permitted(self, token: Token, permission: str) -> bool:
        if token.kind == "app":
            return permission in self.app_roles
        names = {s.rsplit("/", 1)[-1].lower() for s in token.scopes}
        if ".default" in names:  # every delegated permission the app was consented (both)
            return permission in self.app_roles
        return permission.lower() in names or (
            permission == "Mail.Send" and "mail.send.shared" in names)

    def handle_graph(self, method: str, path: str, headers, body: bytes
                     ) -> tuple[int, dict | None, dict[str, str]]:
        """Returns (status, json or None, extra headers)."""
        with self._lock:
            if self._faults:
                fault = self._faults.pop(0)
                return fault.status, ("error", fault.code, fault.message), fault.headers
            checked = self._authorize(headers)
            if not isinstance(checked, Token):
                status, code, message = checked
                return status, ("error", code, message), {
                    "WWW-Authenticate": (f'Bearer realm="", authorization_uri="{self.base_url}'
                                         f'/common/oauth2/authorize", client_id='
                                         '"00000003-0000-0000-c000-000000000000"')}
            token = checked
            parts = [unquote(p) for p in path.split("/") if p][1:]   # drop "v1.0"
            if parts[:1] == ["me"]:
                if token.kind != "delegated":
                    return 400, ("error", "BadRequest", "/me request is only valid with "
                                 "delegated authentication flow."), {}
                mailbox, rest = token.user or "", parts[1:]
            elif parts[:1] == ["users"] and len(parts) >= 2:
                mailbox, rest = parts[1], parts[2:]
                problem = self._mailbox_problem(mailbox, token)
                if problem:
                    return problem
                mailbox = self.mailbox
            else:
                return 400, ("error", "BadRequest", "Resource not found for the segment '"
                             + (parts[0] if parts else "") + "'."), {}
            if method != "POST":
                return 405, ("error", "Request_BadRequest",
                             "The HTTP method is not allowed on the resource."), {}
            if rest == ["sendMail"]:
                return self._send_mail(mailbox, token, headers, body)
            if rest == ["messages"]:
                return self._create_draft(mailbox, token, headers, body)
            if len(rest) == 3 and rest[0] == "messages" and rest[2] == "send":
                return self._send_draft(mailbox, token, rest[1])
            return 400, ("error", "BadRequest", "Resource not found for the segment '"
                         + "/".join(rest) + "'."), {}

    def _mailbox_problem(self, mailbox: str, token: Token):
        low = mailbox.lower()
        if low in self.forbidden_mailboxes:
            return 403, ("error", "ErrorAccessDenied",
                         "Access is denied. Check credentials and try again."), {}
        if low not in (self.mailbox.lower(), self.mailbox_id.lower()):
            return 404, ("error", "ErrorInvalidUser",
                         f"The requested user '{mailbox}' is invalid."), {}
        if token.kind == "delegated" and (token.user or "").lower() != self.mailbox.lower():
            return 403, ("error", "ErrorAccessDenied",
                         "Access is denied. Check credentials and try again."), {}
        return None

    def _mime(self, body: bytes):
        try:
            raw = base64.b64decode(b"".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            return None, (400, ("error", "ErrorMimeContentInvalidBase64String",
                                "Invalid base64 string for MIME content."), {})
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if not raw.strip() or not message.keys():
            return None, (400, ("error", "ErrorMimeContentInvalid",
                                "The MIME content is invalid."), {})
        return (raw, message), None

    @staticmethod
    def _content_type(headers) -> str:
        return headers.get("Content-Type", "").split(";")[0].strip().lower()

    def _send_mail(self, mailbox: str, token: Token, headers, body: bytes):
        if not self._permitted(token, "Mail.Send"):
            return 403, ("error", "ErrorAccessDenied",
                         "Access is denied. Check credentials and try again."), {}
        ctype = self._content_type(headers)
        if ctype == "text/plain":
            parsed, problem = self._mime(body)
            if problem:
                return problem
            raw, message = parsed
            rcpts = getaddresses([str(v) for k in ("To", "Cc", "Bcc")
                                  for v in message.get_all(k, [])])
            if not [a for _, a in rcpts if a]:
                return 400, ("error", "ErrorInvalidRecipients",
                             "At least one recipient isn't valid."), {}
            self.sent.append(message)
            self.sent_raw.append(raw)
            self.deliveries.append(Delivery(mailbox, raw, message, token.kind))
            return 202, None, {}
        if ctype == "application/json":
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                payload = None
            if not isinstance(payload, dict) or not isinstance(payload.get("message"), dict):
                return 400, ("error", "ErrorInvalidRequest",
                             "Empty Payload. JSON content expected."), {}
            self.sent_json.append(payload)
            self.deliveries.append(Delivery(mailbox, None, None, token.kind, payload))
            return 202, None, {}
        return 415, ("error", "UnsupportedMediaType",
                     f"Content-Type '{ctype}' is not supported; use text/plain (MIME) or "
                     "application/json."), {}

    def _create_draft(self, mailbox: str, token: Token, headers, body: bytes):
        if not self._permitted(token, "Mail.ReadWrite"):
            return 403, ("error", "ErrorAccessDenied",
                         "Access is denied. Check credentials and try again."), {}
        if self._content_type(headers) != "text/plain":
            return 415, ("error", "UnsupportedMediaType",
                         "This emulator creates drafts from MIME (text/plain) only."), {}
        parsed, problem = self._mime(body)
        if problem:
            return problem
        _raw, message = parsed
        draft_id = "AAMkAGI2" + secrets.token_urlsafe(30)
        self.drafts.append((draft_id, message))
        return 201, self._message_resource(draft_id, mailbox, message), {
            "Location": f"{self.graph_url}/users('{mailbox}')/messages('{draft_id}')"}

    def _send_draft(self, mailbox: str, token: Token, draft_id: str):
        if not self._permitted(token, "Mail.Send"):
            return 403, ("error", "ErrorAccessDenied",
                         "Access is denied. Check credentials and try again."), {}
        for i, (did, message) in enumerate(self.drafts):
            if did == draft_id:
                del self.drafts[i]
                raw = message.as_bytes()
                self.sent.append(message)
                self.sent_raw.append(raw)
                self.deliveries.append(Delivery(mailbox, raw, message, token.kind))
                return 202, None, {}
        return 404, ("error", "ErrorItemNotFound",
                     "The specified object was not found in the store."), {}

    def _message_resource(self, draft_id: str, mailbox: str, message: EmailMessage) -> dict:
        def people(name: str) -> list[dict]:
            return [{"emailAddress": {"name": n or a, "address": a}}
                    for n, a in getaddresses([str(v) for v in message.get_all(name, [])]) if a]

        part = message.get_body(preferencelist=("html", "plain"))
        content = part.get_content() if part is not None else ""
        is_html = part is not None and part.get_content_subtype() == "html"
        stamp = _now_iso(seconds=False)
        sender = people("From")
        return {
            "@odata.context": (f"{self.graph_url}/$metadata#users('{mailbox}')"
                               "/messages/$entity"),
            "@odata.etag": 'W/"' + secrets.token_urlsafe(20) + '"',
            "id": draft_id,
            "createdDateTime": stamp,
            "lastModifiedDateTime": stamp,
            "changeKey": secrets.token_urlsafe(20),
            "categories": [],
            "receivedDateTime": stamp,
            "sentDateTime": stamp,
            "hasAttachments": any(True for _ in message.iter_attachments()),
            "internetMessageId": str(message.get("Message-ID", "")),
            "subject": str(message.get("Subject", "")),
            "bodyPreview": " ".join(content.split())[:255],
            "importance": "normal",
            "parentFolderId": "AAMkAGI2Drafts",
            "conversationId": "AAQkAGI2" + secrets.token_urlsafe(16),
            "isDeliveryReceiptRequested": False,
            "isReadReceiptRequested": False,
            "isRead": True,
            "isDraft": True,
            "webLink": f"{self.base_url}/owa/?ItemID={draft_id}",
            "inferenceClassification": "focused",
            "body": {"contentType": "html" if is_html else "text", "content": content},
            "sender": sender[0] if sender else None,
            "from": sender[0] if sender else None,
            "toRecipients": people("To"),
            "ccRecipients": people("Cc"),
            "bccRecipients": people("Bcc"),
            "replyTo": people("Reply-To"),
            "flag": {"flagStatus": "notFlagged"},
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GraphEmulator/1.0"
    emulator: GraphEmulator

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def _record(self) -> None:
        with self.emulator._lock:
            self.emulator.requests.append(Request(self.command, self.path, dict(self.headers)))

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any = None, headers: dict[str, str] | None = None,
              graph: bool = False) -> None:
        request_id = str(uuid.uuid4())
        client_request_id = self.headers.get("client-request-id") or request_id
        if isinstance(payload, tuple) and payload[:1] == ("error",):
            _, code, message = payload
            payload = self.emulator.graph_error(status, code, message, client_request_id,
                                                request_id)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            ctype = ("application/json; odata.metadata=minimal; odata.streaming=true; "
                     "IEEE754Compatible=false; charset=utf-8") if graph else (
                     "application/json; charset=utf-8")
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store, no-cache" if not graph else "private")
        if graph:
            self.send_header("request-id", request_id)
            self.send_header("client-request-id", client_request_id)
            self.send_header("x-ms-ags-diagnostic", json.dumps(
                {"ServerInfo": {"DataCenter": "Loopback", "Slice": "E", "Ring": "0",
                                "ScaleUnit": "000", "RoleInstance": "EMULATOR"}}))
        else:
            self.send_header("x-ms-request-id", request_id)
            if self.headers.get("client-request-id"):
                self.send_header("client-request-id", client_request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._record()
        em = self.emulator
        path = urlsplit(self.path).path
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 3 and parts[-2:] == [".well-known", "openid-configuration"]:
            tenant = parts[0]
            if not em._known_tenant(tenant):
                status, body = em._aad_error(400, "invalid_tenant", 90002,
                                             f"Tenant '{tenant}' not found.")
                return self._send(status, body)
            return self._send(200, em.openid_configuration(tenant))
        if len(parts) == 4 and parts[1:] == ["discovery", "v2.0", "keys"]:
            return self._send(200, {"keys": []})
        if parts and parts[0] == "v1.0":
            status, payload, headers = em.handle_graph("GET", path, self.headers, b"")
            return self._send(status, payload, headers, graph=True)
        self._send(404, {"error": "not_found", "error_description": path})

    def do_POST(self) -> None:
        self._record()
        em = self.emulator
        body = self._body()
        path = urlsplit(self.path).path
        parts = [p for p in path.split("/") if p]
        if len(parts) == 4 and parts[1:3] == ["oauth2", "v2.0"] and parts[3] in (
                "token", "devicecode"):
            tenant = parts[0]
            if not em._known_tenant(tenant):
                status, answer = em._aad_error(400, "invalid_tenant", 90002,
                                               f"Tenant '{tenant}' not found.")
                return self._send(status, answer)
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8"),
                                                  keep_blank_values=True).items()}
            if parts[3] == "token":
                status, answer = em.handle_token(tenant, form, self.headers)
            else:
                status, answer = em.handle_devicecode(tenant, form)
            return self._send(status, answer)
        if parts and parts[0] == "v1.0":
            status, payload, headers = em.handle_graph("POST", path, self.headers, body)
            return self._send(status, payload, headers, graph=True)
        self._send(404, {"error": "not_found", "error_description": path})
