"""A throwaway certificate authority for loopback TLS servers in the tests.

`LoopbackTLS` makes a trustme CA and one server certificate valid for
127.0.0.1, ::1 and localhost; it writes the CA (PEM) to a file so that code
under test trusts it the ordinary way, through ``REQUESTS_CA_BUNDLE`` (read
by requests, hence by msal) and ``SSL_CERT_FILE`` (read by OpenSSL's default
verify paths, hence by ``ssl.create_default_context()`` and smtplib).

Nothing here touches the process environment by itself: use `trust()` with a
pytest ``monkeypatch`` for in-process code, or `env()` for a subprocess.

    tls = LoopbackTLS(tmp_path)            # or the session fixture below
    server_ctx = tls.server_context()      # ssl.SSLContext for a server
    tls.trust(monkeypatch)                 # in-process clients trust the CA
    subprocess.run(cmd, env=tls.env())     # a child process trusts it too
"""

from __future__ import annotations

import os
import ssl
import tempfile
from pathlib import Path

import pytest
import trustme

HOSTS = ("127.0.0.1", "::1", "localhost")


class LoopbackTLS:
    """A CA, a server certificate for the loopback names, and the CA file."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.ca = trustme.CA(organization_name="brm_xl test CA")
        self.server_cert = self.ca.issue_cert(*HOSTS)
        if directory is None:
            directory = tempfile.mkdtemp(prefix="brm_xl_ca_")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca_file = self.directory / "loopback-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        # The server's chain and key on disk too, for servers that want paths.
        self.cert_file = self.directory / "loopback-server.pem"
        self.key_file = self.directory / "loopback-server.key"
        self.server_cert.private_key_pem.write_to_path(str(self.key_file))
        with open(self.cert_file, "wb") as out:
            for blob in self.server_cert.cert_chain_pems:
                out.write(blob.bytes())

    @property
    def ca_pem(self) -> bytes:
        return self.ca.cert_pem.bytes()

    def server_context(self) -> ssl.SSLContext:
        """A fresh server-side context presenting the loopback certificate."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.server_cert.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only the test CA (hostname checked)."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        return ctx

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """A copy of `base` (default os.environ) that trusts the test CA."""
        out = dict(os.environ if base is None else base)
        out["REQUESTS_CA_BUNDLE"] = str(self.ca_file)
        out["SSL_CERT_FILE"] = str(self.ca_file)
        out.pop("CURL_CA_BUNDLE", None)  # requests prefers REQUESTS_CA_BUNDLE, but be plain
        return out

    def trust(self, monkeypatch: pytest.MonkeyPatch) -> Path:
        """Point REQUESTS_CA_BUNDLE and SSL_CERT_FILE at the CA for this test."""
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(self.ca_file))
        monkeypatch.setenv("SSL_CERT_FILE", str(self.ca_file))
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        return self.ca_file


@pytest.fixture(scope="session")
def loopback_tls(tmp_path_factory: pytest.TempPathFactory) -> LoopbackTLS:
    """One CA per test session (per xdist worker)."""
    return LoopbackTLS(tmp_path_factory.mktemp("loopback_tls"))


@pytest.fixture
def trust_loopback(loopback_tls: LoopbackTLS, monkeypatch: pytest.MonkeyPatch) -> LoopbackTLS:
    """The session CA, trusted by in-process clients for the one test."""
    loopback_tls.trust(monkeypatch)
    return loopback_tls
