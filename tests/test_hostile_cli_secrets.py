"""Kind 6: secrets typed or mistyped on the command line, through the real CLI.

A secret given as an option value is refused (exit 2) by a sentence that does not repeat
it, and nothing is saved; options are never matched by prefix; at a terminal the secret
is asked without echo.
"""

from __future__ import annotations

import pytest

from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.cli_runner import run_cli
from tests.hostile_support import Terminal

SECRET = "Hunter2-typed-by-mistake-5e1f"

CONFIGURE = [
    "email",
    "set",
    "QA",
    "--server",
    "smtp.example.com",
    "--auth",
    "basic",
    "--username",
    "relay",
    "--sender-email",
    "noreply@example.com",
]


@pytest.mark.parametrize(
    "argv",
    [
        [*CONFIGURE, "--password", SECRET],
        [*CONFIGURE, f"--password={SECRET}"],
        [*CONFIGURE, "--client-secret", SECRET],
        [*CONFIGURE, f"--client-secret={SECRET}"],
        [*CONFIGURE, f"--password-stdin={SECRET}"],
        [*CONFIGURE, f"--client-secret-stdin={SECRET}"],
        [*CONFIGURE, "--pass", SECRET],
        [*CONFIGURE, "--secret", SECRET],
        [*CONFIGURE, "--api-key", SECRET],
        [*CONFIGURE, "--token", SECRET],
        ["--password", SECRET, "stage", "list"],
        ["init", f"--passphrase={SECRET}"],
    ],
    ids=lambda argv: next(a.split("=")[0] for a in reversed(argv) if a.startswith("--")),
)
def test_a_secret_option_is_refused_without_repeating_the_value(initialized, argv):
    before = initialized["store"].read_bytes()
    result = run_cli(*argv, input=SECRET + "\n")
    assert result.returncode == 2, result.stderr
    assert SECRET not in result.stderr and SECRET not in result.stdout
    assert "Hunter2" not in result.stderr
    assert "not shown" in result.stderr and "stays in your shell's history" in result.stderr
    assert "Traceback" not in result.stderr
    assert initialized["store"].read_bytes() == before


def test_the_refusal_names_the_option_to_use_instead(initialized):
    password = run_cli(*CONFIGURE, "--password", SECRET)
    assert "--password-stdin" in password.stderr
    secret = run_cli(*CONFIGURE, "--client-secret", SECRET)
    assert "--client-secret-stdin" in secret.stderr


def test_a_value_after_password_stdin_is_not_echoed(initialized):
    """`--password-stdin hunter2`: the user thought the flag takes the value."""
    before = initialized["store"].read_bytes()
    result = run_cli(*CONFIGURE, "--password-stdin", SECRET, input="other\n")
    assert result.returncode == 2
    assert SECRET not in result.stderr + result.stdout
    assert "(a value not shown)" in result.stderr
    assert initialized["store"].read_bytes() == before


@pytest.mark.parametrize(
    ("argv", "prefix"),
    [
        (["email", "show", "QA", "--js"], "--js"),
        (["stage", "list", "--jso"], "--jso"),
        (["--sto", "/tmp/elsewhere.json", "stage", "list"], "--sto"),
        (["email", "set", "QA", "--serv", "smtp.example.com"], "--serv"),
        (["app", "list", "--j"], "--j"),
    ],
)
def test_options_are_never_matched_by_prefix(initialized, argv, prefix):
    before = initialized["store"].read_bytes()
    result = run_cli(*argv)
    assert result.returncode == 2, result.stdout
    assert prefix in result.stderr or "invalid choice" in result.stderr  # --sto: then a path
    assert result.stdout == ""
    assert initialized["store"].read_bytes() == before


def test_pass_is_not_password_stdin(initialized):
    """With prefixes allowed, `--pass` would read stdin as the password and save it."""
    result = run_cli(*CONFIGURE, "--pass", input=SECRET + "\n")
    assert result.returncode == 2
    workspace = Workspace.open(Locations(initialized["store"], initialized["key"]))
    assert workspace.data.stage("QA").email is None


def test_at_a_terminal_the_password_is_asked_without_echo(initialized):
    terminal = Terminal(*CONFIGURE, "--password-stdin")
    terminal.read_until(b"Password (--password-stdin): ")
    terminal.type(SECRET + "\n")
    code = terminal.finish()
    assert code == 0, terminal.seen
    assert SECRET.encode() not in terminal.seen  # the terminal did not echo it
    assert b"Saved the email configuration of QA" in terminal.seen
    workspace = Workspace.open(Locations(initialized["store"], initialized["key"]))
    assert workspace.data.stage("QA").email.auth.password.get_secret_value() == SECRET


def test_at_a_terminal_the_client_secret_is_asked_without_echo(initialized):
    terminal = Terminal(
        "email",
        "set",
        "Production",
        "--server",
        "smtp.office365.com",
        "--auth",
        "oauth2",
        "--client-id",
        "0000-app",
        "--token-url",
        "https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
        "--sender-email",
        "noreply@example.com",
        "--client-secret-stdin",
    )
    terminal.read_until(b"Client Secret (--client-secret-stdin): ")
    terminal.type(SECRET + "\n")
    assert terminal.finish() == 0, terminal.seen
    assert SECRET.encode() not in terminal.seen
    workspace = Workspace.open(Locations(initialized["store"], initialized["key"]))
    stored = workspace.data.stage("Production").email.auth.client_secret
    assert stored.get_secret_value() == SECRET


def test_piped_secrets_still_work(initialized):
    result = run_cli(*CONFIGURE, "--password-stdin", input=SECRET + "\n")
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_ctrl_d_at_the_prompt_is_nothing_typed_not_a_crash(initialized):
    before = initialized["store"].read_bytes()
    terminal = Terminal(*CONFIGURE, "--password-stdin")
    terminal.read_until(b"Password (--password-stdin): ")
    terminal.type("\x04")
    assert terminal.finish() == 3, terminal.seen
    assert b"is mandatory" in terminal.seen and b"Unexpected" not in terminal.seen
    assert initialized["store"].read_bytes() == before


def test_every_parser_and_subparser_refuses_prefixes():
    """Walks the real parser tree: a command module that made its own parser class or
    passed allow_abbrev=True would show up here."""
    import argparse

    from mailstage.cli.main import build_parser

    seen = 0
    stack: list[argparse.ArgumentParser] = [build_parser()]
    while stack:
        parser = stack.pop()
        seen += 1
        assert parser.allow_abbrev is False, parser.prog
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
    assert seen > 20  # every group and command was visited
