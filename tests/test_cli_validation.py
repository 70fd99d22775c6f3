"""Each validation rule through the CLI (in-process `main`): exit 3, the field is named,
nothing changes. Exit codes across a real process boundary are tested elsewhere."""

from __future__ import annotations

import pytest

from mailstage.store.identity import login_name
from tests.cli_runner import run_cli_here as run_cli

BASIC = [
    "--auth",
    "basic",
    "--username",
    "relay",
    "--password-stdin",
    "--sender-email",
    "noreply@example.com",
]
OAUTH = [
    "--auth",
    "oauth2",
    "--client-id",
    "app-id",
    "--client-secret-stdin",
    "--sender-email",
    "noreply@example.com",
]


@pytest.mark.parametrize(
    ("args", "field", "rule"),
    [
        (["--server", "smtp://mail.example.com", *BASIC], "(--server)", "without a scheme"),
        (["--server", "mail example.com", *BASIC], "(--server)", "spaces"),
        (["--server=-bad-.example.com", *BASIC], "(--server)", "not a valid host name"),
        (["--server", "mail.example.com", "--port", "25", *BASIC], "(--port)", "spammers"),
        (["--server", "mail.example.com", "--port", "0", *BASIC], "(--port)", "1 to 65535"),
        (["--server", "mail.example.com", "--port", "70000", *BASIC], "(--port)", "1 to 65535"),
        (["--server", "mail.example.com", "--port", "abc", *BASIC], "(--port)", "whole number"),
        (
            [
                "--server",
                "mail.example.com",
                "--auth",
                "basic",
                "--password-stdin",
                "--sender-email",
                "a@example.com",
            ],
            "(--username)",
            "mandatory",
        ),
        (
            [
                "--server",
                "mail.example.com",
                "--auth",
                "basic",
                "--username",
                "u",
                "--sender-email",
                "a@example.com",
            ],
            "(--password-stdin)",
            "mandatory",
        ),
        (
            [
                "--server",
                "mail.example.com",
                "--auth",
                "basic",
                "--username",
                "u",
                "--password-stdin",
            ],
            "(--sender-email)",
            "mandatory",
        ),
        (
            [
                "--server",
                "mail.example.com",
                "--auth",
                "basic",
                "--username",
                "u",
                "--password-stdin",
                "--sender-email",
                "not-an-address",
            ],
            "(--sender-email)",
            "valid",
        ),
        (
            ["--server", "mail.example.com", *BASIC, "--sender-name", "Ops\r\nBcc: x@evil.test"],
            "(--sender-name)",
            "line breaks",
        ),
        (
            ["--server", "mail.example.com", *OAUTH, "--token-url", "http://idp.example.com/token"],
            "(--token-url)",
            "https",
        ),
        (
            ["--server", "mail.example.com", *OAUTH, "--token-url", "ftp://idp.example.com/t"],
            "(--token-url)",
            "https",
        ),
        (["--server", "mail.example.com", *OAUTH], "(--token-url)", "mandatory"),
        (
            [
                "--server",
                "mail.example.com",
                "--auth",
                "oauth2",
                "--client-secret-stdin",
                "--token-url",
                "https://login.microsoftonline.com/t/oauth2/v2.0/token",
                "--sender-email",
                "a@example.com",
            ],
            "(--client-id)",
            "mandatory",
        ),
        (
            [
                "--server",
                "mail.example.com",
                *OAUTH,
                "--token-url",
                "https://idp.example.com/t",
                "--scope",
                "two words",
            ],
            "(--scope)",
            "spaces",
        ),
        (["--server", "mail.example.com"], "(--auth)", "mandatory"),
    ],
)
def test_email_set_rule(initialized, args, field, rule):
    before = initialized["store"].read_bytes()
    result = run_cli("email", "set", "QA", *args, input="s3cret-value\n")
    assert result.returncode == 3, result.stderr
    assert field in result.stderr
    assert rule in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret-value" not in result.stderr + result.stdout
    assert initialized["store"].read_bytes() == before


@pytest.mark.parametrize(
    ("token_url", "scopes"),
    [
        ("https://idp.example.com/oauth/token", []),  # optional as in the portal: none is sent
        (
            "https://login.microsoftonline.com/t/oauth2/v2.0/token",
            ["https://outlook.office365.com/.default"],  # the Microsoft suggestion still applies
        ),
    ],
)
def test_oauth_without_a_scope_is_accepted(initialized, token_url, scopes):
    import json

    args = ["--server", "mail.example.com", *OAUTH, "--token-url", token_url]
    result = run_cli("email", "set", "QA", *args, input="s3cret-value\n")
    assert result.returncode == 0, result.stderr
    assert "scope" not in result.stderr.lower()
    data = json.loads(run_cli("email", "show", "QA", "--json").stdout)
    assert data["auth"]["type"] == "oauth2_client_credentials"
    assert data["auth"]["token_url"] == token_url
    assert data["auth"]["scopes"] == scopes


def test_empty_secret_on_stdin_is_refused(initialized):
    result = run_cli("email", "set", "QA", "--server", "mail.example.com", *BASIC, input="")
    assert result.returncode == 3
    assert "(--password-stdin)" in result.stderr and "mandatory" in result.stderr


@pytest.mark.parametrize(
    ("args", "field", "rule"),
    [
        (["stage", "add", "qa"], "Name ", "already a stage"),
        (["stage", "add", "Bad\nName"], "Name ", "line breaks"),
        (["email", "show", "Staging"], "Stage ", "does not exist"),
        (
            ["testlist", "add", "Shop", "--stage", "QA", "no-at-sign"],
            "Addresses ",
            "no-at-sign",
        ),
        (["testlist", "add", "Shop", "--stage", "QA", "a@exa mple.com"], "Addresses ", "valid"),
        (
            ["testlist", "remove", "Shop", "--stage", "QA", "nobody@example.com"],
            "Addresses ",
            "not in the test list",
        ),
        (["testlist", "show", "Nope", "--stage", "QA"], "App ", "does not exist"),
        (["app", "add", "SHOP"], "Name ", "already an app"),
        (["member", "add", "bob", "--role", "Superuser"], "Role ", "does not exist"),
        (["member", "add", login_name(), "--role", "Viewer"], "Role ", "last Organization Admin"),
        (["member", "add", "bob smith", "--role", "Viewer"], "Member ", "OS login name"),
        (["member", "add", ".hidden", "--role", "Viewer"], "Member ", "OS login name"),
        (["init"], "(--store)", "already exists"),
    ],
)
def test_other_rules(initialized, args, field, rule):
    assert run_cli("app", "add", "Shop").returncode == 0
    before = initialized["store"].read_bytes()
    result = run_cli(*args)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert field in result.stderr
    assert rule in result.stderr
    assert initialized["store"].read_bytes() == before


def test_valid_configuration_round_trips(initialized):
    result = run_cli(
        "email",
        "set",
        "QA",
        "--server",
        "Mail.Example.COM",
        *BASIC,
        "--sender-name",
        "Shop QA",
        input="pw\n",
    )
    assert result.returncode == 0, result.stderr
    shown = run_cli("email", "show", "qa", "--json")
    import json

    data = json.loads(shown.stdout)
    assert data["stage"] == "QA"
    assert data["server"] == "mail.example.com"
    assert data["port"] == 587 and data["security"] == "starttls"
    assert data["auth"] == {"type": "basic", "username": "relay", "password": "********"}
    assert data["sender_email"] == "noreply@example.com" and data["sender_name"] == "Shop QA"


def test_port_465_implies_implicit_tls_and_partial_update_keeps_secret(initialized):
    import json

    assert (
        run_cli(
            "email", "set", "QA", "--server", "mail.example.com", *BASIC, input="pw\n"
        ).returncode
        == 0
    )
    assert run_cli("email", "set", "QA", "--port", "465").returncode == 0
    data = json.loads(run_cli("email", "show", "QA", "--json").stdout)
    assert (data["port"], data["security"]) == (465, "implicit")
    assert data["auth"]["password"] == "********"
    from mailstage.store.paths import Locations
    from mailstage.store.workspace import Workspace

    ws = Workspace.open(Locations.resolve())
    assert ws.data.stage("QA").email.auth.password.get_secret_value() == "pw"


def test_switching_auth_type_drops_the_other_types_fields(initialized):
    import json

    assert (
        run_cli(
            "email", "set", "QA", "--server", "mail.example.com", *BASIC, input="pw\n"
        ).returncode
        == 0
    )
    result = run_cli(
        "email",
        "set",
        "QA",
        "--auth",
        "oauth2",
        "--client-id",
        "app",
        "--client-secret-stdin",
        "--token-url",
        "https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
        input="cs\n",
    )
    assert result.returncode == 0, result.stderr
    auth = json.loads(run_cli("email", "show", "QA", "--json").stdout)["auth"]
    assert auth == {
        "type": "oauth2_client_credentials",
        "token_url": "https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
        "client_id": "app",
        "client_secret": "********",
        "scopes": ["https://outlook.office365.com/.default"],
    }


def test_unconfigured_stage_json_has_nulls(initialized):
    import json

    data = json.loads(run_cli("email", "show", "Development", "--json").stdout)
    assert data["stage"] == "Development"
    assert all(
        data[k] is None
        for k in ("server", "port", "security", "sender_email", "sender_name", "auth")
    )


def test_usage_error_is_exit_2(initialized):
    result = run_cli("email", "set")
    assert result.returncode == 2
    both = run_cli("email", "set", "QA", "--password-stdin", "--client-secret-stdin")
    assert both.returncode == 2
