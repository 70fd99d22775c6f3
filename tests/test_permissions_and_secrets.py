"""Roles gate every change (exit 4, nothing changes); secrets never leave the store."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from mailstage.store.models import BasicAuth, EmailConfig
from tests.cli_runner import as_user, run_cli
from tests.store_factory import CLIENT_SECRET, PASSWORD, full_workspace, locations


@pytest.fixture
def shared(tmp_path, monkeypatch):
    full_workspace(tmp_path)  # bob: Email Manager, carol: App Developer, dave: Viewer
    loc = locations(tmp_path)
    monkeypatch.setenv("MAILSTAGE_STORE", str(loc.store))
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(loc.key_file))
    return loc


CHANGES = {
    "email": (["email", "set", "QA", "--sender-name", "Changed"], "Manage Email Configurations"),
    "testlist": (["testlist", "activate", "Shop", "--stage", "Production"], "Manage Test Lists"),
    "stage": (["stage", "add", "Staging"], "Manage Stages"),
    "app": (["app", "add", "Extra"], "Manage Apps"),
    "member": (["member", "add", "eve", "--role", "Viewer"], "Manage Members"),
}


@pytest.mark.parametrize(
    ("user", "change"),
    [
        ("dave", "email"),
        ("dave", "testlist"),
        ("carol", "email"),
        ("bob", "testlist"),
        ("bob", "stage"),
        ("carol", "app"),
        ("bob", "member"),
        ("mallory", "email"),
        ("mallory", "testlist"),
    ],
)
def test_without_the_permission_exit_4_and_nothing_changes(shared, user, change):
    args, permission = CHANGES[change]
    before = shared.store.read_bytes()
    result = run_cli(*args, env=as_user(user))
    assert result.returncode == 4, result.stderr
    assert permission in result.stderr
    assert f"You ({user})" in result.stderr
    assert shared.store.read_bytes() == before


@pytest.mark.parametrize(
    ("user", "change"), [("bob", "email"), ("carol", "testlist"), ("alice", "member")]
)
def test_with_the_permission_the_change_lands_and_is_audited(shared, user, change):
    args, _ = CHANGES[change]
    result = run_cli(*args, env=as_user(user))
    assert result.returncode == 0, result.stderr
    newest = json.loads(run_cli("audit", "--json", "--limit", "1").stdout)[0]
    assert newest["user"] == user


def test_viewers_can_read(shared):
    for args in (
        ["stage", "list"],
        ["email", "show", "QA"],
        ["app", "list"],
        ["audit"],
        ["testlist", "show", "Shop", "--stage", "QA"],
        ["member", "list"],
    ):
        assert run_cli(*args, env=as_user("dave")).returncode == 0, args


def test_secrets_appear_in_no_output_audit_or_file(shared):
    outputs = []
    for args in (
        ["email", "show", "QA"],
        ["email", "show", "QA", "--json"],
        ["email", "show", "Production"],
        ["email", "show", "Production", "--json"],
        ["stage", "list", "--json"],
        ["audit"],
        ["audit", "--json", "--limit", "1000"],
        ["app", "list", "--json"],
        ["member", "list", "--json"],
        ["locate"],
        ["email", "set", "QA", "--port", "25"],
        ["email", "set", "QA", "--sender-name", "New"],
    ):
        result = run_cli(*args)
        outputs += [result.stdout, result.stderr]
    result = run_cli("email", "set", "QA", "--password-stdin", input=PASSWORD + "-rotated\n")
    outputs += [result.stdout, result.stderr]
    text = "\n".join(outputs)
    for secret in (PASSWORD, CLIENT_SECRET):
        assert secret not in text
    assert "********" in text
    for path in shared.store.parent.iterdir():
        raw = path.read_bytes()
        assert PASSWORD.encode() not in raw and CLIENT_SECRET.encode() not in raw


def test_secrets_are_masked_in_repr_str_dump_and_errors():
    config = EmailConfig(
        server="smtp.example.com",
        sender_email="a@example.com",
        auth=BasicAuth(username="u", password=SecretStr(PASSWORD)),
    )
    for text in (
        repr(config),
        str(config),
        config.model_dump_json(),
        json.dumps(config.model_dump(mode="json")),
    ):
        assert PASSWORD not in text
    with pytest.raises(ValueError) as info:
        BasicAuth(username="u", password=SecretStr(PASSWORD + "\n"))
    assert PASSWORD not in str(info.value)
    with pytest.raises(ValueError) as info:
        EmailConfig.model_validate(
            {
                "server": "x y",
                "sender_email": "a@example.com",
                "auth": {"type": "basic", "username": "u", "password": PASSWORD},
            }
        )
    assert PASSWORD not in str(info.value)
