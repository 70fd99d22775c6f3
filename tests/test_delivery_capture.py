"""The capture server: in-process for the TUI and `mailstage demo`, and `mailstage sink`."""

from __future__ import annotations

import base64
import os
import signal
import stat
import subprocess

import pytest

from mailstage.mailer.capture import CaptureServer, default_folder, list_captured
from mailstage.mailer.send_test import send_test
from mailstage.store.errors import InvalidInput
from tests.cli_runner import REPO, mailstage_command, run_cli
from tests.loopback import PASSWORD, basic_config, oauth_config, stage


async def test_captures_each_message_as_an_eml_file(tmp_path, caplog):
    caplog.set_level("DEBUG")
    folder = tmp_path / "captured"
    with CaptureServer("127.0.0.1", 0, folder) as server:
        result = await send_test(
            basic_config(server.port), stage=stage("QA"), app=None, recipients=["dev@example.com"]
        )

    assert result.ok, result.error
    (mail,) = list_captured(folder)
    assert mail.sender == "noreply@example.com"
    assert mail.recipients == ["dev@example.com"]
    assert mail.subject == "mailstage test from stage QA"
    assert mail.date is not None
    assert mail.path.read_bytes().count(b"mailstage test from stage QA") >= 1
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(mail.path.stat().st_mode) == 0o600
    assert "AUTH PLAIN accepted for user relay-user" in caplog.text
    assert PASSWORD not in caplog.text
    encoded = base64.b64encode(f"\0relay-user\0{PASSWORD}".encode()).decode()
    assert encoded not in caplog.text


async def test_accepts_xoauth2_with_any_token_and_a_long_line(tmp_path, token_endpoint, caplog):
    caplog.set_level("INFO")
    with CaptureServer("127.0.0.1", 0, tmp_path) as server:
        config = oauth_config(server.port, token_endpoint.url)
        result = await send_test(config, stage=stage(), app=None, recipients=["dev@example.com"])

    assert result.ok, result.error
    assert len(list_captured(tmp_path)) == 1
    (token,) = token_endpoint.issued
    assert "XOAUTH2 accepted for user noreply@example.com" in caplog.text
    assert token[:40] not in caplog.text


async def test_starttls_with_the_generated_certificate(tmp_path):
    with CaptureServer("127.0.0.1", 0, tmp_path / "mail", tls=True) as server:
        assert server.cert_file is not None
        config = basic_config(server.port, ca_file=server.cert_file)
        result = await send_test(config, stage=stage(), app=None, recipients=["dev@example.com"])

    assert result.ok, result.error
    tls = next(s for s in result.steps if s.name == "tls")
    assert tls.detail.startswith("TLS")
    assert len(list_captured(tmp_path / "mail")) == 1


def test_refuses_a_host_that_is_not_loopback(tmp_path):
    with pytest.raises(InvalidInput, match="loopback only"):
        CaptureServer("0.0.0.0", 0, tmp_path)


def test_default_folder_is_under_the_user_data_folder():
    assert default_folder() == default_folder().parent / "captured"
    assert "mailstage" in default_folder().parts
    assert list_captured() == []


def test_sink_command_captures_and_stops_on_ctrl_c(tmp_path):
    folder = tmp_path / "sink"
    process = subprocess.Popen(
        [*mailstage_command(), "sink", "--port", "0", "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(os.environ),
    )
    try:
        first_line = process.stdout.readline()
        assert first_line.startswith("Capturing mail on 127.0.0.1 port "), process.stderr.read()
        port = int(first_line.split(" port ")[1].split()[0])
        assert run_cli("init").returncode == 0
        set_result = run_cli(
            "email", "set", "QA", "--server", "127.0.0.1", "--port", str(port),
            "--auth", "basic", "--username", "u", "--password-stdin",
            "--sender-email", "noreply@example.com",
            input="anything\n",
        )  # fmt: skip
        assert set_result.returncode == 0, set_result.stderr
        sent = run_cli("email", "send-test", "QA", "--to", "dev@example.com", "--timeout", "5")
        assert sent.returncode == 0, sent.stderr
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)

    assert process.returncode == 0, err
    assert "captured " in out and "Stopped." in out
    (mail,) = list_captured(folder)
    assert mail.recipients == ["dev@example.com"]


def test_sink_refuses_a_public_host():
    result = run_cli("sink", "--host", "0.0.0.0", "--port", "0")

    assert result.returncode == 3
    assert "loopback only" in result.stderr


async def test_the_server_line_says_whether_tls_was_used(tmp_path):
    """The test email tells what happened on the wire, not what was configured."""
    from email import policy
    from email.parser import BytesParser

    def body(path):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        return message.get_body(("plain",)).get_content()

    with CaptureServer("127.0.0.1", 0, tmp_path / "plain") as server:
        config = basic_config(server.port)
        assert config.security == "starttls"  # configured: STARTTLS; offered: none
        result = await send_test(config, stage=stage(), app=None, recipients=["dev@example.com"])
    assert result.ok, result.error
    (mail,) = list_captured(tmp_path / "plain")
    text = body(mail.path)
    assert "(no TLS: plain text to a loopback address, Basic)" in text
    assert "starttls" not in text

    with CaptureServer("127.0.0.1", 0, tmp_path / "tls", tls=True) as server:
        config = basic_config(server.port, ca_file=server.cert_file)
        result = await send_test(config, stage=stage(), app=None, recipients=["dev@example.com"])
    assert result.ok, result.error
    (mail,) = list_captured(tmp_path / "tls")
    assert "(TLS: TLSv1." in body(mail.path)
