"""The token's claims in the hints of `mailstage email send-test` (text and JSON) and of
the relay's reply and log line, each in a subprocess against a loopback token endpoint
issuing JWT-shaped tokens and an SMTP server answering as Exchange Online does; neither
the token nor the client secret appears in any output, log or file (issue 21)."""

from __future__ import annotations

import json
import smtplib

from tests.cli_runner import run_cli
from tests.loopback import CLIENT_SECRET, SENDER
from tests.relay_harness import *  # noqa: F403 - fixtures
from tests.relay_harness import RunningRelay, start_relay
from tests.test_delivery_cli import send_test, set_oauth
from tests.test_delivery_jwt_hints import SEND_AS_DENIED, SERVICE_PRINCIPAL, entra_claims
from tests.test_relay_delivery import numbered

ROLES_HINT = (
    "The token's roles are Mail.Read; SMTP.SendAsApp is missing: add the Office 365 "
    "Exchange Online application permission SMTP.SendAsApp and grant admin consent."
)


def assert_no_token_anywhere(store, token_endpoint, *outputs: str) -> None:
    forbidden = [CLIENT_SECRET]
    for token in token_endpoint.issued:
        forbidden += [token, *token.split(".")]
    log = run_cli("log", "--json")
    audit = run_cli("audit", "--json")
    files = [p.read_bytes().decode("latin-1") for p in store.parent.rglob("*") if p.is_file()]
    for blob in [*outputs, log.stdout, log.stderr, audit.stdout, *files]:
        for secret in forbidden:
            assert secret not in blob


def test_send_test_text_names_the_missing_role(
    initialized, smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.claims = entra_claims(roles=["Mail.Read"])
    server = smtp_server_factory(tokens=token_endpoint, exchange=True)
    set_oauth(server.port, token_endpoint.url, ca_file=certificates.ca_file)

    result = send_test("-v")

    assert result.returncode == 7
    assert "Step auth failed: The server rejected the login: 535 5.7.3" in result.stderr
    assert f"Hint: {ROLES_HINT}" in result.stderr
    assert_no_token_anywhere(initialized["store"], token_endpoint, result.stdout, result.stderr)


def test_send_test_json_hint_names_the_audience(
    initialized, smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.claims = entra_claims(aud="https://graph.microsoft.com", roles=["Mail.Send"])
    server = smtp_server_factory(tokens=token_endpoint, exchange=True)
    set_oauth(server.port, token_endpoint.url, ca_file=certificates.ca_file)

    result = send_test("--json", "-v")

    assert result.returncode == 7
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert data["hint"] == (
        "The token's audience is https://graph.microsoft.com, not Exchange Online: the scope "
        "must be https://outlook.office365.com/.default."
    )
    assert_no_token_anywhere(initialized["store"], token_endpoint, result.stdout, result.stderr)


def test_send_test_json_hint_for_send_as_denied(
    initialized, smtp_server_factory, token_endpoint, certificates
):
    token_endpoint.claims = entra_claims()
    server = smtp_server_factory(tokens=token_endpoint, exchange=True, data_reply=SEND_AS_DENIED)
    set_oauth(server.port, token_endpoint.url, ca_file=certificates.ca_file)

    result = send_test("--json")

    assert result.returncode == 7
    hint = json.loads(result.stdout)["hint"]
    assert hint.startswith(f"The mailbox {SENDER} has not granted Send As")
    assert f"-Trustee {SERVICE_PRINCIPAL} -AccessRights SendAs" in hint
    assert_no_token_anywhere(initialized["store"], token_endpoint, result.stdout, result.stderr)


def one_message_through_relay(setup, *relay_options: str) -> tuple[str, RunningRelay]:
    """Send one message through a relay in a subprocess; the relay's words to the app
    ("250 ..." or the refusal) and the stopped relay, whose stderr holds the log."""
    relay = start_relay("QA", *relay_options)
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=60) as smtp:
            smtp.login("Shop", setup.password)
            smtp.mail(SENDER)
            smtp.rcpt("a@buyers.example")
            code, words = smtp.data(numbered(0, 0, "a@buyers.example").as_bytes())
    except smtplib.SMTPDataError as refused:
        code, words = refused.smtp_code, refused.smtp_error
    finally:
        assert relay.stop() == 0
    return f"{code} {words.decode()}", relay


def test_the_relay_says_what_the_token_lacks_in_its_reply_and_log(
    oauth_relay_store, token_endpoint
):
    server, setup = oauth_relay_store
    server.behaviour.exchange = True
    token_endpoint.claims = entra_claims(roles=["Mail.Read"])

    reply, relay = one_message_through_relay(setup, "--no-queue")

    assert reply.startswith("451 4.7.0 Not sent, try again later: auth: The server rejected")
    assert "535 5.7.3 Authentication unsuccessful Hint: The token's roles are Mail.Read; " in reply
    line = relay.wait_for_line("535 5.7.3")
    assert "Hint: The token's roles are Mail.Read; SMTP.SendAsApp is missing" in line
    assert server.messages == []
    assert_no_token_anywhere(setup.store, token_endpoint, relay.stderr, reply)


def test_the_queueing_relay_logs_the_hint_with_the_queued_reply(oauth_relay_store, token_endpoint):
    server, setup = oauth_relay_store
    server.behaviour.exchange = True
    token_endpoint.claims = entra_claims(clock_shift=3 * 3600)

    reply, relay = one_message_through_relay(setup)

    assert reply.startswith("250 2.0.0 Queued as ")
    assert "the clock here is off (behind) by at least 3 h" in reply
    assert "the clock here is off (behind) by at least 3 h" in relay.wait_for_line("Queued as")
    assert_no_token_anywhere(setup.store, token_endpoint, relay.stderr, reply)


def test_the_relay_names_the_mailbox_that_denies_send_as(oauth_relay_store, token_endpoint):
    server, setup = oauth_relay_store
    server.behaviour.exchange = True
    server.behaviour.data_reply = SEND_AS_DENIED
    token_endpoint.claims = entra_claims()

    for options in (("--no-queue",), ()):
        reply, relay = one_message_through_relay(setup, *options)

        assert reply.startswith("554 5.2.252"), reply
        assert f"Hint: The mailbox {SENDER} has not granted Send As" in reply
        assert f"-Trustee {SERVICE_PRINCIPAL}" in reply  # the reply line is cut at 400
        assert "has not granted Send As" in relay.wait_for_line("5.2.252")
        assert server.messages == []
        assert_no_token_anywhere(setup.store, token_endpoint, relay.stderr, reply)
