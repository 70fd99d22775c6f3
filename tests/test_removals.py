"""Removing members, apps and stages, and the studio list: confirmed, audited, guarded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailstage.store.identity import login_name
from tests.cli_runner import run_cli_here as run


def ok(*args: str) -> str:
    done = run(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def newest_event() -> dict[str, object]:
    return json.loads(ok("audit", "--json", "--limit", "1"))[0]


@pytest.fixture
def shop(initialized: dict[str, Path]) -> dict[str, Path]:
    ok("app", "add", "Shop")
    ok("testlist", "add", "Shop", "--stage", "QA", "a@example.com", "b@example.com")
    ok("studiolist", "add", "Shop", "studio@example.com")
    return initialized


def test_app_remove_needs_yes_and_then_goes_with_its_lists(shop: dict[str, Path]) -> None:
    before = shop["store"].read_bytes()
    done = run("app", "remove", "Shop")
    assert done.returncode == 2
    assert "also removes its 1 test list(s)" in done.stderr and "--yes" in done.stderr
    assert shop["store"].read_bytes() == before
    assert "Removed the app Shop." in ok("app", "remove", "shop", "--yes")
    assert json.loads(ok("app", "list", "--json")) == []
    event = newest_event()
    assert event["action"] == "app.remove" and event["target"] == "Shop"
    assert event["user"] == login_name()
    assert event["details"] == {"test_lists": 1, "studio_list": 1, "relay_credentials": 0}


def test_stage_remove_takes_the_test_lists_for_it(shop: dict[str, Path]) -> None:
    done = run("stage", "remove", "QA")
    assert done.returncode == 2 and "1 app test list(s)" in done.stderr
    ok("stage", "remove", "QA", "--yes")
    names = [s["name"] for s in json.loads(ok("stage", "list", "--json"))]
    assert names == ["Development", "Production"]
    assert json.loads(ok("app", "list", "--json"))[0]["test_lists"].keys() == {
        "Development",
        "Production",
    }
    event = newest_event()
    assert event["action"] == "stage.remove" and event["details"] == {
        "configured": False,
        "apps": 1,
    }
    # a stage of the same name starts empty
    ok("stage", "add", "QA")
    shown = json.loads(ok("testlist", "show", "Shop", "--stage", "QA", "--json"))
    assert shown["addresses"] == [] and shown["active"] is False


def test_the_last_stage_stays(initialized: dict[str, Path]) -> None:
    ok("stage", "remove", "Development", "--yes")
    ok("stage", "remove", "QA", "--yes")
    done = run("stage", "remove", "Production", "--yes")
    assert done.returncode == 3 and "the only stage" in done.stderr


def test_member_remove_and_the_last_administrator(initialized: dict[str, Path]) -> None:
    me = login_name()
    ok("member", "add", "bob", "--role", "Email Manager")
    assert "bob (Email Manager) is no longer a member." in ok("member", "remove", "bob")
    event = newest_event()
    assert event["action"] == "member.remove" and event["details"] == {"previous": "Email Manager"}
    done = run("member", "remove", me)
    assert done.returncode == 3 and "the last Organization Administrator" in done.stderr
    done = run("member", "add", me, "--role", "Viewer")
    assert done.returncode == 3 and "last Organization Admin" in done.stderr
    done = run("member", "remove", "nobody-here")
    assert done.returncode == 3 and "is not a member" in done.stderr


def test_a_removed_member_loses_their_rights(initialized: dict[str, Path]) -> None:
    me = login_name()
    ok("member", "add", "carol", "--role", "Organization Administrator")
    # the administrator removes themselves once someone else is one: then nothing is allowed
    ok("member", "remove", me)
    done = run("app", "add", "Late")
    assert done.returncode == 4 and "not a member of this organization" in done.stderr


def test_studiolist_show_add_remove(shop: dict[str, Path]) -> None:
    assert json.loads(ok("studiolist", "show", "Shop", "--json")) == {
        "app": "Shop",
        "addresses": ["studio@example.com"],
    }
    assert "Added 1 address(es)" in ok(
        "studiolist", "add", "Shop", "x@example.com", "STUDIO@example.com"
    )
    assert "Removed 1 address(es)" in ok("studiolist", "remove", "Shop", "studio@example.com")
    assert "x@example.com" in ok("studiolist", "show", "Shop")
    done = run("studiolist", "remove", "Shop", "nobody@example.com")
    assert done.returncode == 3 and "Studio list " in done.stderr
    done = run("studiolist", "add", "Shop", "not-an-address")
    assert done.returncode == 3 and "Studio list " in done.stderr
    assert newest_event()["action"] == "studio_list.set"


def test_removals_need_their_permission(shop: dict[str, Path]) -> None:
    me = login_name()
    ok("member", "add", "root2", "--role", "Organization Administrator")
    ok("member", "add", me, "--role", "Viewer")
    before = shop["store"].read_bytes()
    for args, permission in (
        (["app", "remove", "Shop", "--yes"], "Manage Apps"),
        (["stage", "remove", "QA", "--yes"], "Manage Stages"),
        (["member", "remove", "root2"], "Manage Members"),
        (["studiolist", "add", "Shop", "y@example.com"], "Manage Test Lists"),
    ):
        done = run(*args)
        assert done.returncode == 4, args
        assert permission in done.stderr
    assert shop["store"].read_bytes() == before
