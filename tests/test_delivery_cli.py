"""`mailstage email send-test` through the real CLI in a subprocess, against real
loopback servers; stores are created through the CLI too."""

from __future__ import annotations

import json

import pytest

from tests.cli_runner import run_cli
from tests.loopback import CLIENT_ID, CLIENT_SECRET, PASSWORD, SENDER, USERNAME, refused_port

JSON_KEYS = {"ok", "stage", "app", "redirected", "delivered_to", "steps", "error", "hint"}


def set_basic(port: int, *, ca_file=None, server: str = "127.0.0.1", stage: str = "QA") -> None:
    args = ["email", "set", stage, "--server", server, "--port", str(port), "--auth", "basic"]
    args += ["--username", USERNAME, "--password-stdin", "--sender-email", SENDER]
    args += ["--ca-file", str(ca_file)] if ca_file else []
    result = run_cli(*args, input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr


def set_oauth(port: int, token_url: str, *, ca_file) -> None:
    args = ["email", "set", "QA", "--server", "127.0.0.1", "--port", str(port), "--auth", "oauth2"]
    args += ["--token-url", token_url, "--client-id", CLIENT_ID, "--client-secret-stdin"]
    args += ["--scope", "https://outlook.office365.com/.default", "--sender-email", SENDER]
    args += ["--ca-file", str(ca_file)]
    result = run_cli(*args, input=CLIENT_SECRET + "\n")
    assert result.returncode == 0, result.stderr


def send_test(*extra: str):
    return run_cli("email", "send-test", "QA", "--to", "dev@example.com", "--timeout", "1", *extra)


def assert_no_secrets(result, *more: str) -> None:
    for text in (result.stdout, result.stderr):
        for secret in (PASSWORD, CLIENT_SECRET, *more):
            assert secret not in text


def test_basic_send_test_json(initialized, smtp_server, certificates):
    set_basic(smtp_server.port, ca_file=certificates.ca_file)

    result = send_test("--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == JSON_KEYS
    assert data["ok"] is True and data["stage"] == "QA" and data["app"] is None
    assert data["delivered_to"] == ["dev@example.com"]
    assert [s["name"] for s in data["steps"]] == [
        "resolve", "connect", "banner", "ehlo", "tls", "auth", "send", "quit",
    ]  # fmt: skip
    assert all(set(s) == {"name", "ok", "ms", "detail"} for s in data["steps"])
    assert len(smtp_server.messages) == 1
    assert_no_secrets(result)


def test_verbose_prints_the_redacted_transcript(initialized, smtp_server, certificates):
    set_basic(smtp_server.port, ca_file=certificates.ca_file)

    result = send_test("-v")

    assert result.returncode == 0, result.stderr
    assert "ok   auth" in result.stdout
    assert "-> AUTH PLAIN ********" in result.stdout
    assert "Sent to dev@example.com." in result.stdout
    assert_no_secrets(result)


def test_check_only_sends_nothing(initialized, smtp_server, certificates):
    set_basic(smtp_server.port, ca_file=certificates.ca_file)

    result = send_test("--check-only")

    assert result.returncode == 0, result.stderr
    assert "nothing was sent" in result.stdout
    assert smtp_server.messages == []


def test_app_with_active_test_list_redirects(initialized, smtp_server, certificates):
    set_basic(smtp_server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    assert run_cli("testlist", "add", "Shop", "--stage", "QA", "qa@example.com").returncode == 0
    assert run_cli("testlist", "activate", "Shop", "--stage", "QA").returncode == 0

    result = run_cli("email", "send-test", "QA", "--app", "Shop", "--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["redirected"] is True and data["app"] == "Shop"
    assert data["delivered_to"] == ["qa@example.com"]
    assert smtp_server.messages[0].rcpt_tos == ["qa@example.com"]


def test_oauth_send_test(initialized, smtp_server_factory, token_endpoint, certificates):
    server = smtp_server_factory(tokens=token_endpoint)
    set_oauth(server.port, token_endpoint.url, ca_file=certificates.ca_file)

    result = send_test("--json", "-v")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["ok"] is True
    assert server.messages[0].auth_user == SENDER
    (token,) = token_endpoint.issued
    assert_no_secrets(result, token, token[:40])


def test_token_endpoint_error_exits_7_with_the_aadsts_hint(
    initialized, smtp_server, token_endpoint, certificates
):
    token_endpoint.mode = "invalid_client"
    set_oauth(smtp_server.port, token_endpoint.url, ca_file=certificates.ca_file)

    result = send_test("--json")

    assert result.returncode == 7
    assert json.loads(result.stdout)["ok"] is False
    assert "Step token failed" in result.stderr
    assert "AADSTS7000215" in result.stderr and "corr-9a8b7c6d" in result.stderr
    assert "Hint: The client secret is wrong" in result.stderr
    assert "Traceback" not in result.stderr
    assert_no_secrets(result)


def test_auth_rejection_exits_7_with_step_reply_and_hint(
    initialized, smtp_server_factory, certificates
):
    reply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled"
    server = smtp_server_factory(reject_with=reply)
    set_basic(server.port, ca_file=certificates.ca_file)

    result = send_test("--json")

    assert result.returncode == 7
    data = json.loads(result.stdout)
    assert data["ok"] is False and reply in data["error"] and "Set-CASMailbox" in data["hint"]
    assert data["steps"][-1] == {**data["steps"][-1], "name": "auth", "ok": False}
    assert "Step auth failed" in result.stderr and reply in result.stderr
    assert "Set-CASMailbox" in result.stderr
    assert_no_secrets(result)


@pytest.mark.parametrize("fault", ["refused", "silent", "no_starttls", "untrusted", "drop"])
def test_faults_exit_7_naming_the_step(
    fault, initialized, request, smtp_server_factory, certificates, untrusted_certificates
):
    if fault == "refused":
        set_basic(refused_port())
        step = "connect"
    elif fault == "silent":
        set_basic(request.getfixturevalue("silent_server").port)
        step = "banner"
    elif fault == "no_starttls":
        set_basic(smtp_server_factory(security="plain").port, server="0.0.0.0")
        step = "tls"
    elif fault == "untrusted":
        server = smtp_server_factory(certs=untrusted_certificates)
        set_basic(server.port, ca_file=certificates.ca_file)
        step = "tls"
    else:
        set_basic(request.getfixturevalue("dropping_server").port)
        step = "send"

    result = send_test()

    assert result.returncode == 7, result.stderr
    assert f"Step {step} failed" in result.stderr
    assert "Hint: " in result.stderr
    assert f"FAIL {step}" in result.stdout
    assert_no_secrets(result)


def test_unknown_stage_app_and_unconfigured_stage_are_invalid_input(initialized):
    unknown_stage = run_cli("email", "send-test", "Nowhere", "--to", "dev@example.com")
    unconfigured = run_cli("email", "send-test", "QA", "--to", "dev@example.com")
    set_basic(refused_port())
    unknown_app = run_cli("email", "send-test", "QA", "--app", "Nope")

    assert unknown_stage.returncode == 3 and "Nowhere" in unknown_stage.stderr
    assert unconfigured.returncode == 3
    assert "Stage QA has no email configuration; set one with: mailstage email set QA" in (
        unconfigured.stderr
    )
    assert unknown_app.returncode == 3 and "Nope" in unknown_app.stderr


def test_bad_recipient_and_timeout_are_invalid_input(initialized):
    set_basic(refused_port())

    bad_to = run_cli("email", "send-test", "QA", "--to", "not an address")
    bad_timeout = run_cli("email", "send-test", "QA", "--to", "a@example.com", "--timeout", "0")

    assert bad_to.returncode == 3 and "Recipient" in bad_to.stderr
    assert bad_timeout.returncode == 3 and "Timeout" in bad_timeout.stderr


def test_building_the_cli_imports_no_delivery_library():
    import subprocess
    import sys

    from tests.cli_runner import REPO

    code = (
        "import sys, mailstage.cli.main; mailstage.cli.main.build_parser(); "
        "print(sorted(m for m in ('aiosmtplib', 'aiosmtpd', 'msal', 'mailstage.mailer.send_test') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )

    assert result.stdout.strip() == "[]"
