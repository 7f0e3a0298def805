"""Microsoft 365 sign-in through msal, Microsoft's own library: a token for one scope.

Two ways, as the office sets them up (README "Email"):
- **an office mailbox** (Settings `graph_mailbox`): the app signs in as itself (client
  credentials) with a secret (`BRM_GRAPH_CLIENT_SECRET`, or the keyring) or a certificate
  (`BRM_GRAPH_CERT`, a PEM file outside the workbook's folder, or the keyring);
- **the BRM manager's own mailbox** (`graph_mailbox` blank): delegated sign-in, by device
  code in a terminal (on Windows the broker where msal offers it), the token cache kept
  encrypted in the user's profile by msal-extensions; a plain file only when asked
  (`BRM_GRAPH_PLAIN_CACHE=1`).
Nothing of this is ever read from a workbook. Tokens come from msal's cache and are
renewed once when the server refuses one (`renew`).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brm_xl.contract.tables import SETTINGS_DEFAULTS
from brm_xl.problems import DeliveryError

SECRET_ENV = "BRM_GRAPH_CLIENT_SECRET"
CERT_ENV = "BRM_GRAPH_CERT"
PLAIN_CACHE_ENV = "BRM_GRAPH_PLAIN_CACHE"
CACHE_DIR_ENV = "BRM_GRAPH_CACHE_DIR"
KEYRING_SERVICE = "brm-xl"  # the SMTP password, the Graph app's secret or certificate
PUBLIC_AUTHORITY = str(SETTINGS_DEFAULTS["graph_authority_host"][1])
TRUST_ENV = "BRM_GRAPH_TRUST_HOSTS"  # this machine's own list: never a workbook's
# Where the app's secret and its tokens may go: Microsoft's clouds (commercial, GCC High,
# DoD, 21Vianet), for sign-in, Graph and Exchange's SMTP
MICROSOFT_HOSTS = frozenset({
    "login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn",
    "graph.microsoft.com", "graph.microsoft.us", "dod-graph.microsoft.us",
    "microsoftgraph.chinacloudapi.cn", "smtp.office365.com", "smtp.office365.us",
})


def trusted(host_or_url: str, what: str) -> None:
    """A workbook names where mail goes, but not where the secret goes: the sign-in,
    Graph and an OAuth SMTP server must be Microsoft's, or listed on this machine in
    BRM_GRAPH_TRUST_HOSTS (host or host:port, comma-separated)."""
    from urllib.parse import urlsplit

    parts = urlsplit(host_or_url if "//" in host_or_url else f"//{host_or_url}")
    host = (parts.hostname or "").lower()
    named = {h.strip().lower() for h in os.environ.get(TRUST_ENV, "").split(",") if h.strip()}
    if host in MICROSOFT_HOSTS or host in named or parts.netloc.lower() in named:
        return
    raise DeliveryError(f"{what} {host_or_url} is not a Microsoft 365 host, so brm_xl will not "
                        "send the app's secret or a token there on a workbook's word; use "
                        "Microsoft's (README \"Email\"), or list the host in "
                        f"{TRUST_ENV} on this machine")


@dataclass(frozen=True)
class App:
    """The office's app registration, as Settings names it."""

    tenant_id: str
    client_id: str
    authority_host: str = PUBLIC_AUTHORITY
    mailbox: str | None = None  # None: the signed-in user's own mailbox (delegated)

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}"

    @property
    def delegated(self) -> bool:
        return not self.mailbox


def client_credential(app: App, workbook: Path) -> str | dict[str, str]:
    """The app's secret or certificate: from the environment, else the keyring; a
    certificate file inside the workbook's folder is refused (it would travel with it)."""
    secret = os.environ.get(SECRET_ENV) or keyring_secret(f"graph:{app.client_id}")
    if secret:
        return secret
    cert_path = os.environ.get(CERT_ENV)
    pem = None
    if cert_path:
        path = Path(cert_path)
        if path.resolve().is_relative_to(Path(workbook).resolve().parent):
            raise DeliveryError(f"{CERT_ENV} names {path.name} in the workbook's folder; keep "
                                "the certificate outside it (a workbook and its folder are "
                                "copied and mailed), e.g. in your profile")
        try:
            pem = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise DeliveryError(f"{CERT_ENV} {path}: cannot be read as a PEM file "
                                f"({getattr(exc, 'strerror', None) or exc})") from None
    pem = pem or keyring_secret(f"graph-cert:{app.client_id}")
    if pem:
        return certificate_credential(pem)
    raise DeliveryError(f"no secret or certificate for the app {app.client_id}: set "
                        f"{SECRET_ENV}, or {CERT_ENV} to a PEM file (its private key and "
                        f"certificate), or store the secret with: keyring set {KEYRING_SERVICE} "
                        f"graph:{app.client_id}")


def certificate_credential(pem: str) -> dict[str, str]:
    """msal's certificate credential from one PEM text holding the key and the certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    begin = pem.find("-----BEGIN CERTIFICATE-----")
    key_start = pem.find("-----BEGIN")
    if begin < 0 or "PRIVATE KEY-----" not in pem:
        raise DeliveryError("the certificate file must hold the private key and the "
                            "certificate, both PEM (-----BEGIN PRIVATE KEY----- and -----BEGIN "
                            "CERTIFICATE-----)")
    try:
        cert = x509.load_pem_x509_certificate(pem[begin:].encode())
        key = serialization.load_pem_private_key(
            pem[key_start:].encode() if key_start != begin else pem.encode(), password=None)
    except ValueError as exc:
        raise DeliveryError(f"the certificate file cannot be read ({exc})") from None
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    der = cert.public_bytes(serialization.Encoding.DER)
    return {"private_key": key_pem, "thumbprint": hashlib.sha1(der).hexdigest(),
            "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode()}


def keyring_secret(name: str) -> str | None:
    """A secret from the system's credential store (service 'brm-xl'), if it has one."""
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, name)
    except Exception:  # no keyring backend on this machine
        return None


def cache_folder() -> Path:
    """Where the delegated sign-in's token cache lives: the user's profile, never beside
    a workbook."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "brm-xl"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "brm-xl"


def token_cache() -> Any:
    """msal's token cache for the delegated sign-in, encrypted at rest (DPAPI on Windows,
    the Keychain on macOS, libsecret on Linux); a plain file only when asked."""
    import msal_extensions

    folder = cache_folder()
    folder.mkdir(parents=True, exist_ok=True)
    location = str(folder / "msal_token_cache.bin")
    if os.environ.get(PLAIN_CACHE_ENV) == "1":
        persistence: Any = msal_extensions.FilePersistence(location)
    else:
        try:
            persistence = msal_extensions.build_encrypted_persistence(location)
        except Exception as exc:  # no DPAPI, Keychain or libsecret here
            raise DeliveryError(f"cannot keep the sign-in encrypted on this machine ({exc}); "
                                f"set {PLAIN_CACHE_ENV}=1 to keep it in a plain file in "
                                f"{folder} (readable by anyone who can read your profile)"
                                ) from None
    return msal_extensions.PersistedTokenCache(persistence)


class SignIn:
    """Tokens for one scope (`https://graph.microsoft.com/.default`, or Exchange's for
    SMTP) from the office's app; `say` shows the device code's instructions."""

    def __init__(self, app: App, scope: str, workbook: Path,
                 say: Callable[[str], None] = lambda text: None,
                 interactive: bool = True):
        self.app, self.scope, self.say, self.interactive = app, scope, say, interactive
        self.workbook = workbook
        self._made: Any = None

    @property
    def _client(self) -> Any:
        """msal's application, made at the first token (a run with nothing to send asks
        the sign-in service nothing)."""
        if self._made is None:
            self._made = self._make()
        return self._made

    def _make(self) -> Any:
        import msal

        app, workbook = self.app, self.workbook
        discovery = app.authority_host.rstrip("/") == PUBLIC_AUTHORITY
        try:
            if app.delegated:
                broker = sys.platform == "win32" and _has_broker()
                return msal.PublicClientApplication(
                    app.client_id, authority=app.authority, token_cache=token_cache(),
                    instance_discovery=discovery, enable_broker_on_windows=broker)
            return msal.ConfidentialClientApplication(
                app.client_id, authority=app.authority,
                client_credential=client_credential(app, workbook),
                instance_discovery=discovery)
        except DeliveryError:
            raise
        except Exception as exc:  # discovery: the authority cannot be reached or is wrong
            raise DeliveryError(f"cannot reach the sign-in service {app.authority} ({first_line(exc)}); "
                                "check graph_authority_host and graph_tenant_id") from None

    def token(self, renew: bool = False) -> str:
        try:
            result = self._acquire(renew)
        except DeliveryError:
            raise
        except Exception as exc:  # the network, TLS, a broken answer
            raise DeliveryError(f"sign-in at {self.app.authority} failed ({first_line(exc)})") from None
        if not result or "access_token" not in result:
            error = (result or {}).get("error_description") or (result or {}).get("error") or \
                "no token"
            raise DeliveryError(f"sign-in for the app {self.app.client_id} was refused: "
                                f"{str(error).splitlines()[0]}")
        return str(result["access_token"])

    def renew(self) -> str:
        """A new token after the server refused the cached one (expired or revoked)."""
        return self.token(renew=True)

    def _acquire(self, renew: bool) -> dict[str, Any] | None:
        scopes = [self.scope]
        client = self._client
        if not self.app.delegated:
            if renew:
                client.remove_tokens_for_client()
            return client.acquire_token_for_client(scopes=scopes)
        accounts = client.get_accounts()
        if accounts:
            found = client.acquire_token_silent(scopes, account=accounts[0], force_refresh=renew)
            if found and "access_token" in found:
                return dict(found)
        if not self.interactive:
            raise DeliveryError("you are not signed in to Microsoft 365 on this machine: run "
                                "the command once in a terminal to sign in")
        if sys.platform == "win32" and _has_broker():
            return dict(client.acquire_token_interactive(
                scopes, parent_window_handle=client.CONSOLE_WINDOW_HANDLE))
        flow = client.initiate_device_flow(scopes=scopes)
        if "user_code" not in flow:
            raise DeliveryError("the sign-in service did not start a device sign-in: "
                                f"{flow.get('error_description') or flow.get('error')}")
        self.say(str(flow["message"]))
        return dict(client.acquire_token_by_device_flow(flow))


def _has_broker() -> bool:
    try:
        import pymsalruntime  # noqa: F401
    except ImportError:
        return False
    return True


def first_line(exc: BaseException) -> str:
    """An exception's first line, short: what a delivery message quotes of a library."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
