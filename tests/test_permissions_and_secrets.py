"""Roles gate every change (exit 4, nothing changes); secrets never leave the store."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from mailstage.store.identity import login_name
from mailstage.store.models import BasicAuth, EmailConfig
from mailstage.store.paths import Locations
from mailstage.store.sharing import Sharing
from tests.cli_runner import run_cli
from tests.os_users import Team
from tests.store_factory import CLIENT_SECRET, PASSWORD, full_workspace, locations


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """A full store whose administrator is the user running the tests."""
    full_workspace(tmp_path, names={"alice": login_name()})
    loc = locations(tmp_path)
    monkeypatch.setenv("MAILSTAGE_STORE", str(loc.store))
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(loc.key_file))
    return loc


@pytest.fixture
def team(os_team: Team, tmp_path):
    """The same full store in team mode, its members real OS users (mallory: in the
    group, not a member of the organization)."""
    folder = os_team.folder_for("alice") / "shared"
    names = {alias: os_team[alias].name for alias in ("alice", "bob", "carol", "dave")}
    where = Locations(folder / "store.json", folder / "store.key")
    full_workspace(tmp_path, names=names, where=where, sharing=Sharing(os_team.gid, os_team.group))
    return os_team, {"MAILSTAGE_STORE": str(where.store)}, where


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
def test_without_the_permission_exit_4_and_nothing_changes(team, user, change):
    os_team, env, where = team
    args, permission = CHANGES[change]
    before = where.store.read_bytes()
    result = os_team.run(user, *args, env=env)
    assert result.returncode == 4, result.stderr
    assert permission in result.stderr
    assert f"You ({os_team[user].name})" in result.stderr
    assert where.store.read_bytes() == before


@pytest.mark.parametrize(
    ("user", "change"), [("bob", "email"), ("carol", "testlist"), ("alice", "member")]
)
def test_with_the_permission_the_change_lands_and_is_audited(team, user, change):
    os_team, env, _ = team
    args, _ = CHANGES[change]
    result = os_team.run(user, *args, env=env)
    assert result.returncode == 0, result.stderr
    newest = json.loads(os_team.run("dave", "audit", "--json", "--limit", "1", env=env).stdout)[0]
    assert newest["user"] == os_team[user].name


def test_viewers_can_read(team):
    os_team, env, _ = team
    for args in (
        ["stage", "list"],
        ["email", "show", "QA"],
        ["app", "list"],
        ["audit"],
        ["testlist", "show", "Shop", "--stage", "QA"],
        ["member", "list"],
    ):
        done = os_team.run("dave", *args, env=env)
        assert done.returncode == 0, (args, done.stderr)


def test_a_viewer_cannot_send_a_test_and_it_is_not_audited(team):
    os_team, env, where = team
    before = where.store.read_bytes()
    done = os_team.run("dave", "email", "send-test", "QA", "--to", "x@example.com", env=env)
    assert done.returncode == 4
    assert "Manage Email Configurations or Manage Test Lists" in done.stderr
    assert where.store.read_bytes() == before


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
