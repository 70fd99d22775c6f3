"""Kind 5: a server that repeats the credentials back. The password, the client secret,
the token and the forms they travel in (AUTH base64, URL-encoded form) are masked in
every output field: step details, error, reply, hint, JSON and the transcript."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, quote_plus

import pytest

from tests.cli_runner import run_cli
from tests.hostile_servers import HostileHttp, ScriptedSmtp, SmtpScript, send
from tests.loopback import CLIENT_ID, CLIENT_SECRET, PASSWORD, SENDER, USERNAME
from tests.tui_fixtures import screen_text

PLAIN_PAYLOAD = base64.b64encode(f"\0{USERNAME}\0{PASSWORD}".encode()).decode()


def forms_of(secret: str) -> list[str]:
    return [secret, base64.b64encode(secret.encode()).decode(), quote_plus(secret)]


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        for form in forms_of(secret):
            assert form not in text


@pytest.fixture
def echoing_smtp():
    server = ScriptedSmtp(
        SmtpScript(auth_reply="535 5.7.8 login {login} with password {password} ({payload}) bad")
    )
    yield server
    server.stop()


def set_basic(port: int) -> None:
    args = ["email", "set", "QA", "--server", "127.0.0.1", "--port", str(port), "--auth", "basic"]
    args += ["--username", USERNAME, "--password-stdin", "--sender-email", SENDER]
    assert run_cli(*args, input=PASSWORD + "\n").returncode == 0


def test_echoed_password_is_masked_in_cli_text_and_transcript(initialized, echoing_smtp):
    set_basic(echoing_smtp.port)

    result = run_cli("email", "send-test", "QA", "--to", "dev@example.com", "-v")

    assert result.returncode == 7
    assert PASSWORD in echoing_smtp.script.auth_replies[0]  # it did echo
    assert_no_secret(result.stdout + result.stderr, PASSWORD)
    assert PLAIN_PAYLOAD not in result.stdout + result.stderr
    assert "Step auth failed" in result.stderr  # the step is still named
    assert "hidden" in result.stderr


def test_echoed_password_is_masked_in_every_json_field(initialized, echoing_smtp):
    set_basic(echoing_smtp.port)

    result = run_cli("email", "send-test", "QA", "--to", "dev@example.com", "--json")

    assert result.returncode == 7
    data = json.loads(result.stdout)
    fields = [data["error"], data["hint"] or "", *(step["detail"] for step in data["steps"])]
    for text in (*fields, result.stdout, result.stderr):
        assert_no_secret(text, PASSWORD)
        assert PLAIN_PAYLOAD not in text
    assert data["steps"][-1]["name"] == "auth" and not data["steps"][-1]["ok"]


def test_token_endpoint_echoing_the_client_secret_is_masked(initialized, echoing_smtp):
    def answer(handler, body, _server):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        echo = {
            "error": "invalid_client",
            "error_description": f"AADSTS7000215: bad secret {form['client_secret']}",
            "correlation_id": f"body was {body.decode()}",
        }
        send(handler, 401, json.dumps(echo).encode())

    endpoint = HostileHttp(answer)
    try:
        args = ["email", "set", "QA", "--server", "127.0.0.1", "--port", str(echoing_smtp.port)]
        args += ["--auth", "oauth2", "--token-url", endpoint.url(), "--client-id", CLIENT_ID]
        args += ["--client-secret-stdin", "--scope", "api://x/.default", "--sender-email", SENDER]
        assert run_cli(*args, input=CLIENT_SECRET + "\n").returncode == 0
        for extra in (("-v",), ("--json", "-v")):
            result = run_cli("email", "send-test", "QA", "--to", "dev@example.com", *extra)
            assert result.returncode == 7
            assert endpoint.requests  # the endpoint was asked, and echoed
            assert_no_secret(result.stdout + result.stderr, CLIENT_SECRET)
            assert "token" in result.stdout + result.stderr
    finally:
        endpoint.stop()


async def test_tui_send_test_masks_an_echoed_password(make_tui_app, tui_store, echoing_smtp):
    from tests.test_tui_delivery_faults import configure, run_send_test

    configure(tui_store, echoing_smtp.port)
    app = make_tui_app()
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await run_send_test(app, pilot)
        result = screen.result
        assert result is not None and not result.ok
        everything = json.dumps(result.to_json(with_transcript=True)) + (result.reply or "")
        assert_no_secret(everything + screen_text(app), PASSWORD)
        assert PLAIN_PAYLOAD not in everything + screen_text(app)


def test_an_echoed_access_token_is_masked(initialized):
    token = "eyJ0eXAi.echoed-access-token-" + "z" * 30
    smtp = ScriptedSmtp(
        SmtpScript(ehlo=["x", "AUTH XOAUTH2"], auth_reply="535 5.7.3 token {token} ({payload}) no")
    )
    answer = json.dumps({"access_token": token, "expires_in": 3600}).encode()
    endpoint = HostileHttp(lambda h, _b, _s: send(h, 200, answer))
    try:
        args = ["email", "set", "QA", "--server", "127.0.0.1", "--port", str(smtp.port)]
        args += ["--auth", "oauth2", "--token-url", endpoint.url(), "--client-id", CLIENT_ID]
        args += ["--client-secret-stdin", "--scope", "api://x/.default", "--sender-email", SENDER]
        assert run_cli(*args, input=CLIENT_SECRET + "\n").returncode == 0
        result = run_cli("email", "send-test", "QA", "--to", "dev@example.com", "--json", "-v")
    finally:
        smtp.stop()
        endpoint.stop()
    assert result.returncode == 7
    assert token in smtp.script.auth_replies[0]  # the server did echo it

    data = json.loads(result.stdout)
    assert data["steps"][-1]["name"] == "auth"
    assert_no_secret(result.stdout + result.stderr, token, CLIENT_SECRET)
