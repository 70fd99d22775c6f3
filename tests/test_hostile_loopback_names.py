"""Kind 1: plain text is decided on addresses, never on a name. ``evil.localhost``
resolving to a non-loopback address gets no AUTH without TLS and no plain-HTTP token
request (the client secret); the sink refuses to listen there. A name whose addresses
are all loopback still works in plain text. Names come from real /etc/hosts entries
read by the real resolver."""

from __future__ import annotations

import json

import pytest

from mailstage.mailer.loopback import all_loopback, is_loopback_address
from tests.cli_runner import run_cli
from tests.hostile_servers import (
    HostileHttp,
    ScriptedSmtp,
    SmtpScript,
    local_non_loopback_address,
    send,
)
from tests.hosts_file import extra_hosts
from tests.loopback import CLIENT_ID, CLIENT_SECRET, PASSWORD, SENDER, USERNAME
from tests.tui_fixtures import screen_text

OUTSIDE = local_non_loopback_address()
needs_outside = pytest.mark.skipif(OUTSIDE is None, reason="no non-loopback address here")


def set_basic(server: str, port: int) -> None:
    args = ["email", "set", "QA", "--server", server, "--port", str(port), "--auth", "basic"]
    args += ["--username", USERNAME, "--password-stdin", "--sender-email", SENDER]
    result = run_cli(*args, input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr


def set_oauth(server: str, port: int, token_url: str) -> None:
    args = ["email", "set", "QA", "--server", server, "--port", str(port), "--auth", "oauth2"]
    args += ["--token-url", token_url, "--client-id", CLIENT_ID, "--client-secret-stdin"]
    args += ["--scope", "api://mail/.default", "--sender-email", SENDER]
    result = run_cli(*args, input=CLIENT_SECRET + "\n")
    assert result.returncode == 0, result.stderr


def auth_commands(server: ScriptedSmtp) -> list[str]:
    return [c for c in server.script.commands if c.upper().startswith("AUTH")]


def test_addresses_decide_not_names():
    assert is_loopback_address("127.0.0.1") and is_loopback_address("127.8.9.10")
    assert is_loopback_address("::1") and is_loopback_address("::ffff:127.0.0.1")
    assert not is_loopback_address("192.0.2.2") and not is_loopback_address("0.0.0.0")
    assert not all_loopback([]) and not all_loopback(["127.0.0.1", "192.0.2.2"])


@needs_outside
def test_no_auth_in_plain_text_to_a_localhost_name_that_is_not_loopback(initialized):
    server = ScriptedSmtp(SmtpScript(), host=OUTSIDE)
    try:
        with extra_hosts((OUTSIDE, "evil.localhost")):
            set_basic("evil.localhost", server.port)
            result = run_cli("email", "send-test", "QA", "--to", "dev@example.com", "--json")
        data = json.loads(result.stdout)
        assert result.returncode == 7
        assert [s["name"] for s in data["steps"]][-1] == "tls"
        assert "not a loopback address" in data["error"] and OUTSIDE in data["error"]
        assert server.script.commands  # it was reached: EHLO went out
        assert auth_commands(server) == []  # but never the password
    finally:
        server.stop()


@needs_outside
def test_a_name_with_one_outside_address_among_loopback_ones_is_not_loopback(initialized):
    server = ScriptedSmtp(SmtpScript())  # listens on 127.0.0.1 only
    try:
        with extra_hosts(("127.0.0.1", "mixed.localhost"), (OUTSIDE, "mixed.localhost")):
            set_basic("mixed.localhost", server.port)
            result = run_cli("email", "send-test", "QA", "--to", "dev@example.com")
        assert result.returncode == 7
        assert "not a loopback address" in result.stderr
        assert auth_commands(server) == []
    finally:
        server.stop()


def test_a_name_whose_addresses_are_all_loopback_may_use_plain_text(initialized):
    server = ScriptedSmtp(SmtpScript())
    try:
        with extra_hosts(("127.0.0.1", "mail.localhost")):
            set_basic("mail.localhost", server.port)
            result = run_cli("email", "send-test", "QA", "--to", "dev@example.com")
        assert result.returncode == 0, result.stderr
        assert len(auth_commands(server)) == 1
    finally:
        server.stop()


@needs_outside
def test_no_plain_http_token_request_to_a_localhost_name_that_is_not_loopback(initialized):
    smtp = ScriptedSmtp(SmtpScript(ehlo=["x", "AUTH XOAUTH2"]))
    endpoint = HostileHttp(lambda h, _b, _s: send(h, 200, b'{"access_token": "t"}'), host=OUTSIDE)
    try:
        with extra_hosts((OUTSIDE, "idp.localhost")):
            set_oauth("127.0.0.1", smtp.port, endpoint.url(host="idp.localhost"))
            result = run_cli("email", "send-test", "QA", "--to", "dev@example.com", "--json")
        data = json.loads(result.stdout)
        assert result.returncode == 7
        assert data["steps"][-1]["name"] == "token"
        assert "not a loopback address" in data["error"]
        assert endpoint.requests == []  # the client secret never left
    finally:
        smtp.stop()
        endpoint.stop()


@needs_outside
def test_the_sink_refuses_a_localhost_name_that_is_not_loopback(tmp_path):
    with extra_hosts((OUTSIDE, "evil.localhost")):
        result = run_cli("sink", "--host", "evil.localhost", "--port", "0", "--dir", str(tmp_path))
    assert result.returncode == 3
    assert "loopback only" in result.stderr


@needs_outside
async def test_tui_send_test_refuses_plain_text_to_a_name_that_is_not_loopback(
    make_tui_app, tui_store
):
    from tests.test_tui_delivery_faults import configure, run_send_test

    server = ScriptedSmtp(SmtpScript(), host=OUTSIDE)
    try:
        with extra_hosts((OUTSIDE, "evil.localhost")):
            configure(tui_store, server.port)
            from mailstage.store.workspace import Workspace

            ws = Workspace.open(tui_store, user="alice")
            ws.set_email("QA", ws.email_from_options("QA", {"server": "evil.localhost"}))
            app = make_tui_app()
            async with app.run_test(size=(120, 40)) as pilot:
                screen = await run_send_test(app, pilot)
                assert screen.result is not None and not screen.result.ok
                assert screen.result.failed_step.name.value == "tls"
                assert "not a loopback address" in " ".join(screen_text(app).split())
        assert auth_commands(server) == []
    finally:
        server.stop()
