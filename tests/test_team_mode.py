"""Several real OS users share one store (team mode): identity is the real uid, every
save keeps the team's modes and group, outsiders are refused with a sentence."""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from mailstage.store.paths import Locations
from mailstage.store.sharing import Sharing
from mailstage.store.workspace import Workspace
from tests.os_users import BOOT, Team
from tests.tmux import private_tmux

ROLES = (("bob", "Email Manager"), ("carol", "App Developer"), ("dave", "Viewer"))


def team_store(team: Team, *, through_cli: bool = False) -> dict[str, str]:
    """A team store of alice's; bob, carol, dave join with their roles. Made in-process
    (by root, for alice: fast) unless ``through_cli``, where alice runs the commands."""
    folder = team.folder_for("alice") / "shared"
    env = {"MAILSTAGE_STORE": str(folder / "store.json")}
    if not through_cli:
        locations = Locations(folder / "store.json", folder / "store.key")
        ws = Workspace.init(
            locations, user=team["alice"].name, sharing=Sharing(team.gid, team.group)
        )
        for alias, role in ROLES:
            ws.set_member(team[alias].name, role)
        return env
    done = team.run("alice", "init", "--group", team.group, env=env)
    assert done.returncode == 0, done.stderr
    for alias, role in ROLES:
        done = team.run("alice", "member", "add", team[alias].name, "--role", role, env=env)
        assert done.returncode == 0, done.stderr
    return env


def mode_and_group(path: Path) -> tuple[str, int]:
    info = path.stat()
    return oct(stat.S_IMODE(info.st_mode)), info.st_gid


def newest_audit(team: Team, env: dict[str, str]) -> dict[str, object]:
    done = team.run("alice", "audit", "--json", "--limit", "1", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)[0]


def test_init_group_sets_the_team_modes(os_team: Team) -> None:
    env = team_store(os_team, through_cli=True)
    store = Path(env["MAILSTAGE_STORE"])
    folder = store.parent
    assert mode_and_group(folder) == (oct(0o2770), os_team.gid)
    assert mode_and_group(store) == (oct(0o660), os_team.gid)
    assert mode_and_group(store.with_name("store.json.bak")) == (oct(0o660), os_team.gid)
    assert mode_and_group(store.with_name("store.json.lock")) == (oct(0o660), os_team.gid)
    assert mode_and_group(folder / "store.key") == (oct(0o640), os_team.gid)
    assert (folder / "store.key").stat().st_uid == os_team["alice"].uid
    located = json.loads(os_team.run("bob", "locate", "--json", env=env).stdout)
    assert located["key_file"] == str(folder / "store.key")


def test_a_second_members_save_keeps_the_store_usable_for_the_first(os_team: Team) -> None:
    env = team_store(os_team)
    store = Path(env["MAILSTAGE_STORE"])
    done = os_team.run(
        "bob",
        "email",
        "set",
        "QA",
        "--server",
        "smtp.example.com",
        "--auth",
        "basic",
        "--username",
        "relay@example.com",
        "--password-stdin",
        "--sender-email",
        "qa@example.com",
        input="s3cret-pass-word\n",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert store.stat().st_uid == os_team["bob"].uid
    assert mode_and_group(store) == (oct(0o660), os_team.gid)
    assert mode_and_group(store.with_name("store.json.bak")) == (oct(0o660), os_team.gid)
    # alice (and carol) go on working on bob's save
    assert os_team.run("alice", "app", "add", "Shop", env=env).returncode == 0
    done = os_team.run(
        "carol", "testlist", "add", "Shop", "--stage", "QA", "t@example.com", env=env
    )
    assert done.returncode == 0, done.stderr
    assert mode_and_group(store) == (oct(0o660), os_team.gid)
    events = json.loads(os_team.run("dave", "audit", "--json", env=env).stdout)
    who = {e["action"]: e["user"] for e in events}
    assert who["email.set"] == os_team["bob"].name
    assert who["app.add"] == os_team["alice"].name
    assert who["testlist.save"] == os_team["carol"].name


def test_environment_spoofing_grants_nothing(os_team: Team) -> None:
    env = team_store(os_team)
    alice = os_team["alice"].name
    bob = os_team["bob"].name
    before = newest_audit(os_team, env)
    done = os_team.run(
        "bob",
        "member",
        "add",
        bob,
        "--role",
        "Organization Administrator",
        env={**env, "USER": alice, "LOGNAME": alice},
    )
    assert done.returncode == 4, done.stderr
    assert f"You ({bob})" in done.stderr and "Manage Members" in done.stderr
    assert newest_audit(os_team, env) == before


def test_group_member_outside_the_organization_cannot_change(os_team: Team) -> None:
    env = team_store(os_team)
    done = os_team.run("mallory", "app", "add", "Sneaky", env=env)
    assert done.returncode == 4
    assert "not a member of this organization" in done.stderr
    assert os_team.run("mallory", "stage", "list", env=env).returncode == 0


def test_a_user_outside_the_group_gets_exit_5_with_a_sentence(os_team: Team) -> None:
    env = team_store(os_team)
    done = os_team.run("eve", "stage", "list", env=env)
    assert done.returncode == 5
    assert f"not in the group {os_team.group}" in done.stderr
    assert "Traceback" not in done.stderr


def test_init_group_refuses_unknown_group_and_non_members(os_team: Team) -> None:
    folder = os_team.folder_for("eve") / "shared"
    env = {"MAILSTAGE_STORE": str(folder / "store.json")}
    done = os_team.run("eve", "init", "--group", os_team.group, env=env)
    assert done.returncode == 3
    assert "not a member" in done.stderr
    done = os_team.run("eve", "init", "--group", "no-such-group-x", env=env)
    assert done.returncode == 3
    assert "does not exist" in done.stderr
    assert not folder.exists()


def test_share_converts_a_private_store(os_team: Team) -> None:
    folder = os_team.folder_for("alice") / "shop"
    env = {"MAILSTAGE_STORE": str(folder / "store.json")}
    assert os_team.run("alice", "init", env=env).returncode == 0
    assert (
        os_team.run(
            "alice", "member", "add", os_team["bob"].name, "--role", "Viewer", env=env
        ).returncode
        == 0
    )
    assert os_team.run("bob", "stage", "list", env=env).returncode == 5  # private: 0700
    done = os_team.run("alice", "share", "--group", os_team.group, env=env)
    assert done.returncode == 0, done.stderr
    assert mode_and_group(folder) == (oct(0o2770), os_team.gid)
    assert mode_and_group(folder / "store.key") == (oct(0o640), os_team.gid)
    assert mode_and_group(folder / "store.json") == (oct(0o660), os_team.gid)
    done = os_team.run("bob", "stage", "list", env=env)
    assert done.returncode == 0, done.stderr
    assert newest_audit(os_team, env)["action"] == "store.share"


def test_a_file_owned_by_someone_outside_the_team_is_refused(os_team: Team) -> None:
    env = team_store(os_team)
    store = Path(env["MAILSTAGE_STORE"])
    os.chown(store, os_team["eve"].uid, -1)
    done = os_team.run("bob", "stage", "list", env=env)
    assert done.returncode == 5
    assert f"belongs to {os_team['eve'].name}" in done.stderr
    assert f"chown {os_team['bob'].name} {store}" in done.stderr


@pytest.mark.parametrize(
    ("target", "mode", "fix"),
    [
        ("store.json", 0o664, "chmod 660"),
        ("store.key", 0o660, "chmod 640"),
        ("store.json.lock", 0o666, "chmod 660"),
        ("", 0o2775, "chmod 2770"),
    ],
)
def test_team_files_open_to_others_are_refused(
    os_team: Team, target: str, mode: int, fix: str
) -> None:
    env = team_store(os_team)
    path = Path(env["MAILSTAGE_STORE"]).parent / target
    os.chmod(path, mode)
    done = os_team.run("alice", "app", "add", "X", env=env)
    assert done.returncode == 5, done.stderr
    assert f"{fix} {path}".rstrip("/") in done.stderr


def test_a_file_in_another_group_is_refused(os_team: Team) -> None:
    env = team_store(os_team)
    store = Path(env["MAILSTAGE_STORE"])
    os.chown(store, -1, os_team["eve"].gid)
    done = os_team.run("alice", "stage", "list", env=env)
    assert done.returncode == 5
    assert f"chgrp {os_team.group} {store}" in done.stderr


def test_the_header_group_must_match_the_folder(os_team: Team) -> None:
    env = team_store(os_team)
    folder = Path(env["MAILSTAGE_STORE"]).parent
    os.chown(folder, os_team["alice"].uid, -1)
    os.chmod(folder, 0o700)  # no longer shared: the header still names the team
    done = os_team.run("alice", "stage", "list", env=env)
    assert done.returncode == 5
    assert f"belongs to the team {os_team.group}" in done.stderr
    assert f"chgrp {os_team.group} {folder} && chmod 2770 {folder}" in done.stderr


def test_a_uid_without_a_login_name_is_refused(os_team: Team) -> None:
    env = team_store(os_team)
    uid = 54321
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            break
        uid += 1
    done = subprocess.run(
        [os_team.python, "-S", "-c", BOOT, os_team.site_dirs, "app", "add", "Ghost"],
        capture_output=True,
        text=True,
        env={**os_team.env("eve", env), "USER": os_team["alice"].name},
        cwd="/",
        user=uid,
        group=os_team.gid,
        extra_groups=[os_team.gid],
        timeout=60,
    )
    assert done.returncode == 4, done.stderr
    assert f"Your user id {uid} has no login name" in done.stderr


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_a_member_works_in_the_tui_as_themselves(os_team: Team) -> None:
    """carol runs the full-screen app under her own login, with USER set to alice's name:
    the header names carol and her role, and her change is attributed to her."""
    env = team_store(os_team)
    ws = Workspace.open(Locations.resolve(env["MAILSTAGE_STORE"]), user=os_team["alice"].name)
    ws.add_app("Shop")
    carol = os_team["carol"]
    argv = [os_team.python, "-S", "-c", BOOT, os_team.site_dirs]
    variables = {**os_team.env("carol", env), "USER": os_team["alice"].name, "TERM": "xterm"}
    exported = " ".join(f"{k}={shlex.quote(v)}" for k, v in variables.items())
    quoted = " ".join(shlex.quote(a) for a in argv)
    command = f"runuser -u {carol.name} -- env -i {exported} {quoted}"
    with private_tmux() as tmux:
        tmux.start(command, env={**os.environ, "TERM": "xterm"})
        tmux.wait_for(f"{carol.name} · App Developer")
        tmux.keys("a")
        tmux.wait_for("Shop")
        tmux.keys("Space")  # quick toggle: saved and audited at once
        tmux.wait_for("will be held")  # Shop's list is empty: asked first
        tmux.keys("y")
        tmux.wait_gone("will be held")
        tmux.wait_for("active")
        tmux.keys("q")
        tmux.wait_gone("Shop")
    newest = newest_audit(os_team, env)
    assert (newest["user"], newest["action"]) == (carol.name, "testlist.save")
