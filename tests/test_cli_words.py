"""The command line in the portal's words, with the TUI's address rules: labels and
options instead of internal names, counts that agree with their noun, audit details as
sentences, addresses as people paste them (good ones added, bad ones named), and the
rows of `email show` from the same function as the stage screen."""

from __future__ import annotations

from pathlib import Path

from mailstage.store.config_rows import config_rows
from mailstage.store.paste import addresses_from_paste
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.cli_runner import run_cli_here

BASIC = ["--auth", "basic", "--username", "mailer", "--password-stdin"]


def store(paths: dict[str, Path]) -> Workspace:
    return Workspace.open(Locations(paths["store"], paths["key"]), user="alice")


def test_init_says_to_back_up_the_key_file(store_env: dict[str, Path]) -> None:
    result = run_cli_here("init")
    assert result.returncode == 0
    assert f"Back up the key file {store_env['key']}" in result.stdout


def test_pasted_forms_are_read_as_addresses() -> None:
    pasted = 'Eve <eve@example.com>, a@x.com,b@x.com c@x.com; "Doe, Jane" <jane@x.com>\n<z@x.com>'
    assert addresses_from_paste(pasted) == [
        "eve@example.com",
        "a@x.com",
        "b@x.com",
        "c@x.com",
        "jane@x.com",
        "z@x.com",
    ]


def test_testlist_add_takes_pastes_adds_the_good_and_names_the_bad(initialized) -> None:
    assert run_cli_here("app", "add", "Shop").returncode == 0
    result = run_cli_here(
        "testlist",
        "add",
        "Shop",
        "--stage",
        "QA",
        "Eve <eve@example.com>",
        "a@example.com,b@example.com",
        "no-at-sign",
    )
    assert result.returncode == 3, result.stderr
    assert "Added 3 addresses to Shop / QA. 3 in all." in result.stdout
    assert "Not added: 'no-at-sign'" in result.stderr
    shop = store(initialized).data.app("Shop")
    assert shop is not None
    assert shop.test_list("QA").addresses == ["eve@example.com", "a@example.com", "b@example.com"]

    result = run_cli_here("testlist", "add", "Shop", "--stage", "QA", "Eve <eve@example.com>")
    assert result.returncode == 0
    assert "Added 0 addresses to Shop / QA (1 already there). 3 in all." in result.stdout
    result = run_cli_here("testlist", "show", "Shop", "--stage", "QA")
    assert "test list inactive, 3 addresses" in result.stdout


def test_only_bad_addresses_change_nothing(initialized) -> None:
    assert run_cli_here("app", "add", "Shop").returncode == 0
    before = initialized["store"].read_bytes()
    result = run_cli_here("testlist", "add", "Shop", "--stage", "QA", "no-at-sign")
    assert result.returncode == 3
    assert "Addresses 'no-at-sign'" in result.stderr
    assert initialized["store"].read_bytes() == before


def test_messages_name_the_label_and_the_option(initialized) -> None:
    result = run_cli_here(
        "email", "set", "QA", "--server", "mail.example.com", "--auth", "oauth2",
        "--token-url", "http://login.example.com/token", "--client-id", "x",
        "--client-secret-stdin", "--sender-email", "noreply@example.com",
        input="secret-value\n",
    )  # fmt: skip
    assert result.returncode == 3
    assert "Server Token URL (--token-url)" in result.stderr
    assert "token_url" not in result.stderr


def test_stage_list_and_audit_speak_the_portals_words(initialized) -> None:
    result = run_cli_here(
        "email", "set", "QA", "--server", "smtp.office365.com", "--auth", "oauth2",
        "--token-url", "https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
        "--client-id", "app-id", "--client-secret-stdin", "--sender-email", "n@example.com",
        input="secret-value\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    listed = run_cli_here("stage", "list").stdout
    assert "OAuth 2.0 - client credentials" in listed
    assert "oauth2_client_credentials" not in listed

    assert run_cli_here("member", "add", "bob", "--role", "Viewer").returncode == 0
    assert run_cli_here("member", "add", "bob", "--role", "App Developer").returncode == 0
    audit = run_cli_here("audit").stdout
    assert "previous=" not in audit and "None" not in audit
    assert "role Viewer" in audit and "role App Developer (was Viewer)" in audit
    assert "Server Token URL" in audit and "auth.token_url" not in audit


def test_email_show_and_the_stage_screen_share_their_rows(initialized) -> None:
    result = run_cli_here(
        "email", "set", "QA", "--server", "smtp.example.com", *BASIC,
        "--sender-email", "noreply@example.com", input="pw-not-shown\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    shown = run_cli_here("email", "show", "QA").stdout
    stage = store(initialized).data.stage("QA")
    assert stage is not None and stage.email is not None
    rows = config_rows(stage.email.model_dump(mode="json"))
    assert ("Password", "********") in rows
    for label, value in rows:
        assert any(line.startswith(label) and line.endswith(value) for line in shown.splitlines())
    assert "pw-not-shown" not in shown


def test_did_you_mean_for_commands_actions_stages_and_apps(initialized) -> None:
    result = run_cli_here("stag", "list")
    assert result.returncode == 2
    assert "invalid choice: 'stag'" in result.stderr and "Did you mean 'stage'?" in result.stderr
    result = run_cli_here("testlist", "activte", "Shop", "--stage", "QA")
    assert result.returncode == 2 and "Did you mean 'activate'?" in result.stderr
    result = run_cli_here("email", "show", "Prod")
    assert result.returncode == 3 and "Did you mean 'Production'?" in result.stderr
    assert run_cli_here("app", "add", "Customer Portal").returncode == 0
    result = run_cli_here("testlist", "show", "Customer Portl", "--stage", "QA")
    assert result.returncode == 3 and "Did you mean 'Customer Portal'?" in result.stderr
    result = run_cli_here("testlist", "add", "Custmer Portal", "--stage", "QA", "a@example.com")
    assert result.returncode == 3 and "Did you mean 'Customer Portal'?" in result.stderr


def test_leaf_help_pages_teach(capsys) -> None:
    import pytest

    from mailstage.cli.main import main
    from mailstage.cli.member_commands import BUILT_IN_ROLES
    from mailstage.store.models import builtin_roles

    def help_of(*command: str) -> str:
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        return capsys.readouterr().out

    page = help_of("member", "add")
    assert "required options:\n  --role ROLE" in page
    assert [name for name, _ in BUILT_IN_ROLES] == [r.name for r in builtin_roles()]
    for name, _ in BUILT_IN_ROLES:
        assert name in page
    page = help_of("testlist", "add")
    assert "required options:\n  --stage STAGE" in page and "examples:" in page
    assert "Name <address>" in page
    page = help_of("email", "set")
    assert "default 587" in page and "Server Token URL" in page and "examples:" in page
    for command in (("stage", "list"), ("app", "add"), ("init",), ("audit",)):
        page = help_of(*command)
        description = page.split("\n\n")[1]
        assert len(description) > 40 and not description.startswith(("positional", "options"))
    for line in help_of("email", "set").splitlines():
        assert len(line) <= 100, line


def test_init_refuses_a_weak_passphrase(store_env) -> None:
    result = run_cli_here("init", "--passphrase", env={"MAILSTAGE_PASSPHRASE": "x"})
    assert result.returncode == 3
    assert "The passphrase is too short: use at least 12 characters" in result.stderr
    assert not store_env["store"].exists()
    result = run_cli_here("init", "--passphrase", env={"MAILSTAGE_PASSPHRASE": "aaaaaaaaaaaaaaa"})
    assert result.returncode == 3 and "too few different characters" in result.stderr
    result = run_cli_here(
        "init", "--passphrase", env={"MAILSTAGE_PASSPHRASE": "correct horse battery"}
    )
    assert result.returncode == 0
