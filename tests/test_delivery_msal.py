"""The msal path (Microsoft identity platform token URLs) against a real HTTPS endpoint on
loopback that speaks the platform's discovery and token protocol.

Only two things differ from production, both configuration rather than mocks: msal is told
not to ask login.microsoftonline.com whether the loopback authority is known
(``instance_discovery=False``), and mailstage's HTTP client (msal's ``http_client``) trusts
the test CA through SSL_CERT_FILE.
"""

from __future__ import annotations

import functools
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import msal
import pytest
from pydantic import SecretStr

from mailstage.mailer import oauth
from mailstage.mailer.deadline import Deadline
from mailstage.mailer.token_http import BoundedHttp
from mailstage.store.models import OAuth2ClientCredentials
from tests.loopback import CLIENT_ID, CLIENT_SECRET

TENANT = "contoso-tenant"


class IdentityPlatform:
    """Discovery document and client-credentials token endpoint, over TLS."""

    def __init__(self, context: Any) -> None:
        self.requests: list[str] = []
        self.issued: list[str] = []
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                platform.requests.append("GET " + self.path)
                base = f"https://localhost:{self.server.server_address[1]}/{TENANT}"
                if self.path.startswith(f"/{TENANT}/v2.0/.well-known/openid-configuration"):
                    self._json(
                        200,
                        {
                            "token_endpoint": f"{base}/oauth2/v2.0/token",
                            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                            "issuer": f"{base}/v2.0",
                        },
                    )
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:  # noqa: N802
                platform.requests.append("POST " + self.path)
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                    self._json(
                        401,
                        {
                            "error": "invalid_client",
                            "error_description": "AADSTS7000215: Invalid client secret provided.",
                            "correlation_id": "corr-1234",
                        },
                    )
                    return
                token = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(1500)
                platform.issued.append(token)
                self._json(
                    200,
                    {
                        "token_type": "Bearer",
                        "expires_in": 3599,
                        "access_token": token,
                        "scope": form.get("scope"),
                    },
                )

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def authority(self) -> str:
        return f"https://localhost:{self.server.server_address[1]}/{TENANT}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def platform(certificates, monkeypatch) -> Iterator[IdentityPlatform]:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    monkeypatch.setattr(
        msal,
        "ConfidentialClientApplication",
        functools.partial(msal.ConfidentialClientApplication, instance_discovery=False),
    )
    server = IdentityPlatform(certificates.server_context())
    yield server
    server.stop()


def credentials(secret: str = CLIENT_SECRET) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(
        token_url=f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token",
        client_id=CLIENT_ID,
        client_secret=SecretStr(secret),
    )


def test_microsoft_token_urls_go_through_msal_with_the_tenant_authority():
    assert oauth.microsoft_authority(credentials().token_url) == (
        f"https://login.microsoftonline.com/{TENANT}"
    )
    assert oauth.microsoft_authority("https://idp.example.com/oauth/token") is None


def test_msal_gets_a_token_from_the_platform(platform):
    client = BoundedHttp(Deadline(5.0))
    token, expires_in = oauth._request_with_msal(credentials(), platform.authority, client)
    assert token.get_secret_value() == platform.issued[-1]
    assert 3000 < expires_in <= 3599
    assert any(r.startswith("GET ") and "openid-configuration" in r for r in platform.requests)
    assert platform.requests[-1] == f"POST /{TENANT}/oauth2/v2.0/token"


def test_msal_error_names_the_aadsts_code_and_correlation_id(platform):
    with pytest.raises(oauth.TokenError) as info:
        oauth._request_with_msal(
            credentials("the-secret-id-not-its-value"), platform.authority, BoundedHttp(Deadline(5))
        )
    text = info.value.message
    assert "invalid_client" in text and "AADSTS7000215" in text and "corr-1234" in text
    assert "the-secret-id-not-its-value" not in text
