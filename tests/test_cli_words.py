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
