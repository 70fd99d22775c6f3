"""`mailstage app credentials`: a relay password per (app, stage), printed once, kept as a
hash, rotated on purpose, gated by a permission and audited without the password."""

from __future__ import annotations

import json

import pytest

from mailstage.store.errors import InvalidInput, NotPermitted
from mailstage.store.relay_credentials import password_hash, password_matches
from mailstage.store.workspace import Workspace
from tests.cli_runner import run_cli
from tests.store_factory import full_workspace, locations


@pytest.fixture
def shop(initialized):
    assert run_cli("app", "add", "Shop").returncode == 0
    return initialized


def open_store(paths) -> Workspace:
    from mailstage.store.paths import Locations

    return Workspace.open(Locations.resolve(paths["store"], paths["key"]))


def test_credentials_json_once_and_only_a_hash_in_the_store(shop):
    result = run_cli("app", "credentials", "shop", "--stage", "qa", "--json")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"app", "stage", "username", "password"}
    assert (data["app"], data["stage"], data["username"]) == ("Shop", "QA", "Shop")
    password = data["password"]
    assert len(password) >= 43  # 256 random bits, base64url
    app = open_store(shop).data.app("Shop")
    assert app.relay_credentials == {"QA": password_hash(password)}
    assert password_matches(password, app.relay_credential("qa"))
    assert not password_matches(password + "x", app.relay_credential("QA"))
    assert not password_matches(password, None)
    assert password.encode() not in shop["store"].read_bytes()
    audit = run_cli("audit", "--json")
    assert "app.credentials" in audit.stdout and password not in audit.stdout


def test_second_call_needs_rotate_and_rotate_replaces_the_password(shop):
    first = json.loads(run_cli("app", "credentials", "Shop", "--stage", "QA", "--json").stdout)

    again = run_cli("app", "credentials", "Shop", "--stage", "QA")
    assert again.returncode == 3
    assert "--rotate" in again.stderr and first["password"] not in again.stderr + again.stdout

    rotated = run_cli("app", "credentials", "Shop", "--stage", "QA", "--rotate")
    assert rotated.returncode == 0, rotated.stderr
    stored = open_store(shop).data.app("Shop").relay_credential("QA")
    assert not password_matches(first["password"], stored)
    new_password = rotated.stdout.split("password:")[1].split()[0]
    assert password_matches(new_password, stored)
    assert "shown once" in rotated.stdout


def test_unknown_app_or_stage_is_invalid_input(shop):
    assert run_cli("app", "credentials", "Nope", "--stage", "QA").returncode == 3
    result = run_cli("app", "credentials", "Shop", "--stage", "Staging")
    assert result.returncode == 3 and "stage" in result.stderr.lower()


@pytest.mark.parametrize(("user", "allowed"), [("bob", True), ("carol", True), ("dave", False)])
def test_needs_manage_test_lists_or_manage_email_configurations(tmp_path, user, allowed):
    full_workspace(tmp_path)
    ws = Workspace.open(locations(tmp_path), user=user)
    if allowed:
        assert ws.make_relay_credentials("Shop", "QA", rotate=False)
        assert ws.data.audit[-1].action == "app.credentials"
        assert ws.data.audit[-1].user == user
        return
    before = locations(tmp_path).store.read_bytes()
    with pytest.raises(NotPermitted) as caught:
        ws.make_relay_credentials("Shop", "QA", rotate=False)
    assert "Manage Test Lists or Manage Email Configurations" in caught.value.message
    assert locations(tmp_path).store.read_bytes() == before


def test_per_stage_credentials_are_separate(tmp_path):
    ws = full_workspace(tmp_path)
    qa = ws.make_relay_credentials("Shop", "QA", rotate=False)
    production = ws.make_relay_credentials("Shop", "Production", rotate=False)
    app = ws.data.app("Shop")
    assert password_matches(qa, app.relay_credential("QA"))
    assert not password_matches(qa, app.relay_credential("Production"))
    assert password_matches(production, app.relay_credential("Production"))
    assert app.relay_credential("Development") is None
    with pytest.raises(InvalidInput):
        ws.make_relay_credentials("Shop", "QA", rotate=False)
