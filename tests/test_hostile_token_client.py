"""Kind 3: the token client trusts little. It reads at most 1 MiB, follows no redirect,
and never sends a plain-HTTP (loopback) request through a proxy; msal gets the same
client as its ``http_client``."""

from __future__ import annotations

import functools
import json

import msal
import pytest
from pydantic import SecretStr

from mailstage.mailer import oauth
from mailstage.mailer.deadline import Deadline
from mailstage.mailer.token_http import MAX_BODY, BoundedHttp
from mailstage.store.models import OAuth2ClientCredentials
from tests.cli_runner import run_cli
from tests.hostile_servers import HostileHttp, ScriptedSmtp, SmtpScript, send
from tests.loopback import CLIENT_ID, CLIENT_SECRET, SENDER

TOKEN = json.dumps({"access_token": "tok-" + "x" * 40, "expires_in": 3600}).encode()


def credentials(url: str) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(
        token_url=url,
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        scopes=["api://mail/.default"],
    )


def ask(url: str) -> str:
    """The token, or the TokenError's sentence."""
    try:
        value, _ = oauth.request_token(credentials(url), BoundedHttp(Deadline(20)))
    except oauth.TokenError as exc:
        return exc.message
    return value.get_secret_value()


def huge_declared(handler, _body, _server):
    send(handler, 200, b"{" + b" " * (MAX_BODY + 10) + b"}")


def huge_chunked(handler, _body, server):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b" " * 65536
    sent = 0
    while sent < 64 * MAX_BODY and not server.release.is_set():  # 64 MiB if read whole
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sent += len(chunk)
    handler.wfile.write(b"0\r\n\r\n")


@pytest.mark.parametrize("answer", [huge_declared, huge_chunked])
def test_a_huge_answer_is_refused_after_1_mib(answer):
    endpoint = HostileHttp(answer)
    try:
        assert "larger than 1024 KiB" in ask(endpoint.url())
    finally:
        endpoint.stop()


def test_an_answer_under_the_cap_is_read():
    endpoint = HostileHttp(lambda h, _b, _s: send(h, 200, TOKEN))
    try:
        assert ask(endpoint.url()) == "tok-" + "x" * 40
        method, path, headers, body = endpoint.requests[0]
        assert method == "POST" and b"client_secret=" in body
    finally:
        endpoint.stop()


def test_no_redirect_is_followed():
    elsewhere = HostileHttp(lambda h, _b, _s: send(h, 200, TOKEN))
    redirecting = HostileHttp(
        lambda h, _b, _s: send(h, 307, b"", Location=elsewhere.url("/stolen"))
    )
    try:
        sentence = ask(redirecting.url())
        assert "redirect" in sentence and "follows no redirect" in sentence
        assert elsewhere.requests == []  # the client secret went nowhere else
    finally:
        redirecting.stop()
        elsewhere.stop()


def test_plain_http_to_loopback_never_goes_through_a_proxy(initialized):
    proxy = HostileHttp(lambda h, _b, _s: send(h, 200, TOKEN))
    endpoint = HostileHttp(lambda h, _b, _s: send(h, 400, b'{"error": "invalid_client"}'))
    smtp = ScriptedSmtp(SmtpScript(ehlo=["x", "AUTH XOAUTH2"]))
    try:
        args = ["email", "set", "QA", "--server", "127.0.0.1", "--port", str(smtp.port)]
        args += ["--auth", "oauth2", "--token-url", endpoint.url(), "--client-id", CLIENT_ID]
        args += ["--client-secret-stdin", "--scope", "api://x/.default", "--sender-email", SENDER]
        assert run_cli(*args, input=CLIENT_SECRET + "\n").returncode == 0
        proxy_url = f"http://127.0.0.1:{proxy.port}"
        env = {name: proxy_url for name in ("http_proxy", "HTTP_PROXY", "all_proxy")}
        env |= {"no_proxy": "", "NO_PROXY": ""}
        result = run_cli("email", "send-test", "QA", "--to", "dev@example.com", env=env)
        assert result.returncode == 7
        assert "invalid_client" in result.stderr  # the real endpoint answered
        assert len(endpoint.requests) == 1
        assert proxy.requests == []
    finally:
        proxy.stop()
        endpoint.stop()
        smtp.stop()


# --- msal gets the same client ----------------------------------------------------------------

TENANT = "contoso-tenant"


@pytest.fixture
def msal_loopback(certificates, monkeypatch):
    """msal against an HTTPS server on loopback (no instance discovery to the internet);
    mailstage's client trusts the test CA through SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
    monkeypatch.setattr(
        msal,
        "ConfidentialClientApplication",
        functools.partial(msal.ConfidentialClientApplication, instance_discovery=False),
    )
    started = []

    def start(token_answer):
        def respond(handler, body, server):
            base = f"https://localhost:{server.port}/{TENANT}"
            if handler.command == "GET" and "openid-configuration" in handler.path:
                discovery = {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/v2.0",
                }
                return send(handler, 200, json.dumps(discovery).encode())
            return token_answer(handler, body, server)

        server = HostileHttp(respond, context=certificates.server_context())
        started.append(server)
        return f"https://localhost:{server.port}/{TENANT}", server

    yield start
    for server in started:
        server.stop()


def msal_ask(authority: str) -> str:
    auth = credentials(f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
    try:
        value, _ = oauth._request_with_msal(auth, authority, BoundedHttp(Deadline(20)))
    except oauth.TokenError as exc:
        return exc.message
    return value.get_secret_value()


def test_msal_gets_a_token_through_mailstages_client(msal_loopback):
    authority, server = msal_loopback(lambda h, _b, _s: send(h, 200, TOKEN))
    assert msal_ask(authority) == "tok-" + "x" * 40
    assert [r[0] for r in server.requests] == ["GET", "POST"]


def test_msal_gets_the_body_cap(msal_loopback):
    authority, _ = msal_loopback(huge_chunked)
    assert "larger than 1024 KiB" in msal_ask(authority)


def test_msal_gets_no_redirect(msal_loopback):
    elsewhere = HostileHttp(lambda h, _b, _s: send(h, 200, TOKEN))
    try:
        authority, _ = msal_loopback(
            lambda h, _b, _s: send(h, 302, b"", Location=elsewhere.url("/stolen"))
        )
        assert "follows no redirect" in msal_ask(authority)
        assert elsewhere.requests == []
    finally:
        elsewhere.stop()
