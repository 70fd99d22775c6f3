"""Every fault ends in ok=False, the right step, a clear message and a hint."""

from __future__ import annotations

import asyncio

import pytest

from mailstage.mailer.send_test import SendTestResult, send_test
from tests.loopback import CLIENT_SECRET, PASSWORD, basic_config, oauth_config, refused_port, stage

TIMEOUT = 1.0
GUARD = 30  # a broken timeout fails the test instead of hanging it


async def _run(config, **kwargs) -> SendTestResult:
    result = await asyncio.wait_for(
        send_test(
            config,
            stage=stage(),
            app=None,
            recipients=["dev@example.com"],
            timeout=TIMEOUT,
            **kwargs,
        ),
        GUARD,
    )
    assert not result.ok
    text = "\n".join([*result.transcript, result.model_dump_json(), result.error or ""])
    assert PASSWORD not in text and CLIENT_SECRET not in text
    return result


def _failed(result: SendTestResult) -> str:
    step = result.failed_step
    assert step is not None and step.status == "failed"
    assert all(s.ok for s in result.steps if s is not step)
    return step.name.value


async def test_connection_refused():
    result = await _run(basic_config(refused_port()))

    assert _failed(result) == "connect"
    assert "refused" in result.error
    assert "host and port" in result.hint


async def test_server_that_never_answers_times_out_at_the_banner(silent_server):
    result = await _run(basic_config(silent_server.port))

    assert _failed(result) == "banner"
    assert f"within {TIMEOUT:g} s" in result.error
    assert "did not answer in time" in result.hint


async def test_no_starttls_to_a_remote_host_stops_before_auth(smtp_server_factory):
    server = smtp_server_factory(security="plain")
    # 0.0.0.0 reaches this machine but is not a loopback name: the remote-host rules apply
    config = basic_config(server.port, server="0.0.0.0")

    result = await _run(config)

    assert _failed(result) == "tls"
    assert "does not offer STARTTLS" in result.error
    assert "plain text" in result.hint
    assert not any(line.startswith("-> AUTH") for line in result.transcript)


async def test_plain_text_is_allowed_to_a_loopback_host(smtp_server_factory):
    server = smtp_server_factory(security="plain")

    result = await send_test(
        basic_config(server.port), stage=stage(), app=None, recipients=["dev@example.com"]
    )

    assert result.ok, result.error
    assert "loopback" in result.steps[4].detail
    assert len(server.messages) == 1


async def test_untrusted_certificate(smtp_server_factory, untrusted_certificates, certificates):
    server = smtp_server_factory(certs=untrusted_certificates)

    result = await _run(basic_config(server.port, ca_file=certificates.ca_file))

    assert _failed(result) == "tls"
    assert "not trusted" in result.error
    assert "--ca-file" in result.hint
    assert server.messages == []


async def test_missing_ca_file_is_reported_at_tls(smtp_server, tmp_path):
    result = await _run(basic_config(smtp_server.port, ca_file=tmp_path / "missing.pem"))

    assert _failed(result) == "tls"
    assert "missing.pem" in result.error


@pytest.mark.parametrize(
    ("reply", "hint_words"),
    [
        (
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled",
            "Set-CASMailbox",
        ),
        ("535 5.7.3 Authentication unsuccessful", "New-ServicePrincipal"),
        ("550 5.7.30 Basic authentication is not supported for Client Submission", "OAuth 2.0"),
    ],
)
async def test_auth_rejections_name_the_reply_and_the_hint(
    smtp_server_factory, certificates, reply, hint_words
):
    server = smtp_server_factory(reject_with=reply)

    result = await _run(basic_config(server.port, ca_file=certificates.ca_file))

    assert _failed(result) == "auth"
    assert reply in result.error
    assert result.reply == reply
    assert hint_words in result.hint


async def test_wrong_password(smtp_server, certificates):
    config = basic_config(
        smtp_server.port,
        ca_file=certificates.ca_file,
        auth={"type": "basic", "username": "relay-user", "password": "not the password"},
    )

    result = await _run(config)

    assert _failed(result) == "auth"
    assert "535" in result.error
    assert "not the password" not in "\n".join(result.transcript)


async def test_oauth_rejected_with_5_7_3(smtp_server_factory, token_endpoint, certificates):
    server = smtp_server_factory(
        tokens=token_endpoint, reject_with="535 5.7.3 Authentication unsuccessful"
    )

    result = await _run(oauth_config(server.port, token_endpoint.url, ca_file=certificates.ca_file))

    assert _failed(result) == "auth"
    assert "New-ServicePrincipal" in result.hint


async def test_server_without_xoauth2(smtp_server_factory, token_endpoint, certificates):
    server = smtp_server_factory(mechanisms=("PLAIN", "LOGIN"))

    result = await _run(oauth_config(server.port, token_endpoint.url, ca_file=certificates.ca_file))

    assert _failed(result) == "auth"
    assert "does not offer XOAUTH2" in result.error
    assert "PLAIN" in result.error
    assert "XOAUTH2" in result.hint


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("invalid_client", ["AADSTS7000215", "invalid_client", "corr-9a8b7c6d", "trace-0f1e2d3c"]),
        ("server_error", ["HTTP 500"]),
        ("invalid_json", ["not a JSON object"]),
        ("hang", [f"within {TIMEOUT:g} s"]),
    ],
)
async def test_token_endpoint_faults(smtp_server, token_endpoint, certificates, mode, expected):
    token_endpoint.mode = mode

    result = await _run(
        oauth_config(smtp_server.port, token_endpoint.url, ca_file=certificates.ca_file)
    )

    assert _failed(result) == "token"
    for words in expected:
        assert words in result.error
    assert result.hint
    if mode == "invalid_client":
        assert "Secret ID" in result.hint


async def test_connection_dropped_during_data(dropping_server):
    result = await _run(basic_config(dropping_server.port))

    assert _failed(result) == "send"
    assert "closed the connection" in result.error
    assert result.hint


async def test_cancelling_closes_cleanly(silent_server):
    started = asyncio.Event()

    def on_step(report):
        if report.name == "banner" and report.status == "running":
            started.set()

    task = asyncio.create_task(
        send_test(
            basic_config(silent_server.port),
            stage=stage(),
            app=None,
            recipients=["dev@example.com"],
            timeout=GUARD,
            on_step=on_step,
        )
    )
    await started.wait()
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task


async def test_implicit_tls_against_a_starttls_port(smtp_server, certificates):
    config = basic_config(smtp_server.port, ca_file=certificates.ca_file, security="implicit")

    result = await _run(config)

    assert _failed(result) == "tls"
    assert "465 is implicit TLS" in result.hint


async def test_a_host_name_that_cannot_be_encoded_fails_at_resolve():
    # passes the model's check (valid characters) but one label exceeds what IDNA encodes
    config = basic_config(refused_port()).model_copy(update={"server": "a" * 64 + ".example"})

    result = await _run(config)

    assert _failed(result) == "resolve"
    assert "is not a valid DNS name" in result.error
    assert "spelling" in result.hint
