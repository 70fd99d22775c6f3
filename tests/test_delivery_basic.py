"""Basic authentication over STARTTLS and implicit TLS to a real aiosmtpd server."""

from __future__ import annotations

import pytest

from mailstage.mailer.send_test import send_test
from mailstage.mailer.steps import StepReport
from tests.loopback import PASSWORD, SENDER, USERNAME, app, basic_config, stage


async def test_basic_over_starttls_arrives_with_sender_subject_and_both_parts(
    smtp_server, certificates
):
    config = basic_config(smtp_server.port, ca_file=certificates.ca_file)

    result = await send_test(
        config, stage=stage("QA"), app=app("Shop"), recipients=["dev@example.com"], user="alice"
    )

    assert result.ok, result.error
    assert [s.name for s in result.steps] == [
        "resolve", "connect", "banner", "ehlo", "tls", "auth", "send", "quit",
    ]  # fmt: skip
    assert result.delivered_to == ["dev@example.com"]
    (received,) = smtp_server.messages
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ["dev@example.com"]
    assert received.auth_user == USERNAME
    message = received.message
    assert message["Subject"] == "mailstage test from stage QA, app Shop"
    assert "QA Robot" in message["From"]
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "stage QA, app Shop" in plain and "alice" in plain
    assert "stage QA, app Shop" in html


async def test_trust_through_ssl_cert_file(smtp_server, certificates, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))

    result = await send_test(
        basic_config(smtp_server.port), stage=stage(), app=None, recipients=["dev@example.com"]
    )

    assert result.ok, result.error
    assert len(smtp_server.messages) == 1


async def test_implicit_tls(smtp_server_factory, certificates):
    server = smtp_server_factory(security="implicit")
    config = basic_config(server.port, ca_file=certificates.ca_file, security="implicit")

    result = await send_test(config, stage=stage(), app=None, recipients=["dev@example.com"])

    assert result.ok, result.error
    assert [s.name for s in result.steps][:5] == ["resolve", "connect", "tls", "banner", "ehlo"]
    assert result.steps[2].detail.startswith("TLS")
    assert len(server.messages) == 1


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_uses_the_mechanism_the_server_offers(smtp_server_factory, certificates, mechanism):
    server = smtp_server_factory(mechanisms=(mechanism,))
    config = basic_config(server.port, ca_file=certificates.ca_file)

    result = await send_test(config, stage=stage(), app=None, recipients=["dev@example.com"])

    assert result.ok, result.error
    auth = next(s for s in result.steps if s.name == "auth")
    assert auth.detail == f"{mechanism} as {USERNAME}"


async def test_check_only_authenticates_and_sends_nothing(smtp_server, certificates):
    config = basic_config(smtp_server.port, ca_file=certificates.ca_file)

    result = await send_test(
        config, stage=stage(), app=None, recipients=["dev@example.com"], check_only=True
    )

    assert result.ok, result.error
    assert [s.name for s in result.steps][-2:] == ["auth", "quit"]
    assert result.delivered_to == []
    assert smtp_server.messages == []


async def test_steps_are_reported_as_they_start_and_finish(smtp_server, certificates):
    seen: list[StepReport] = []
    config = basic_config(smtp_server.port, ca_file=certificates.ca_file)

    result = await send_test(
        config, stage=stage(), app=None, recipients=["dev@example.com"], on_step=seen.append
    )

    assert result.ok
    assert [(r.name.value, r.status) for r in seen[:4]] == [
        ("resolve", "running"), ("resolve", "ok"), ("connect", "running"), ("connect", "ok"),
    ]  # fmt: skip
    assert len(seen) == 2 * len(result.steps)


async def test_transcript_shows_the_conversation_without_the_password(smtp_server, certificates):
    config = basic_config(smtp_server.port, ca_file=certificates.ca_file)

    result = await send_test(config, stage=stage(), app=None, recipients=["dev@example.com"])

    text = "\n".join(result.transcript)
    assert "-> STARTTLS" in text
    assert "-> AUTH PLAIN ********" in text
    assert "<- 235 2.7.0 Authentication successful" in text
    assert "-> MAIL FROM:<noreply@example.com>" in text
    assert PASSWORD not in text
    assert PASSWORD not in result.model_dump_json()
