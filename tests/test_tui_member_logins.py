"""A member name that is no login on this machine is kept, with a warning that says so
(a login may be made later); a real login gets none. TUI and CLI alike."""

from __future__ import annotations

import pwd
from pathlib import Path

from mailstage.screens.members import MemberModal, MembersScreen
from mailstage.store.identity import login_name
from tests.cli_runner import run_cli
from tests.test_tui_apps_support import HarnessApp, make_store, reopen, settle

SIZE = (80, 24)
NOBODY_HERE = "zz-nologin-7q"


async def add_member(app: HarnessApp, pilot, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    """n, the name, a role (Viewer), F2: the toasts shown afterwards."""
    await pilot.press("n")
    await settle(pilot, MemberModal)
    await pilot.press(*name, "enter", "enter")
    await pilot.pause()
    await pilot.press("down", "enter", "f2")
    await settle(pilot, MembersScreen)
    return [n.message for n in app._notifications]


async def test_an_unknown_login_is_kept_with_a_warning(tmp_path: Path) -> None:
    assert NOBODY_HERE not in {p.pw_name for p in pwd.getpwall()}
    app = HarnessApp(make_store(tmp_path), lambda: MembersScreen())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot, MembersScreen)
        toasts = await add_member(app, pilot, NOBODY_HERE)
        assert any(
            f"There is no login named {NOBODY_HERE} on this machine: the member is kept" in t
            for t in toasts
        ), toasts
        app.clear_notifications()
        real = login_name()
        toasts = await add_member(app, pilot, real)
        assert toasts and not any("no login named" in t for t in toasts), toasts
    members = reopen(tmp_path).data.organization.members
    assert NOBODY_HERE in members and real in members


def test_the_cli_warns_too(initialized: object) -> None:
    done = run_cli("member", "add", NOBODY_HERE, "--role", "Viewer")
    assert done.returncode == 0, done.stderr
    assert f"{NOBODY_HERE} now has the role Viewer." in done.stdout
    assert f"Warning: There is no login named {NOBODY_HERE} on this machine" in done.stderr
    done = run_cli("member", "add", login_name(), "--role", "Organization Administrator")
    assert done.returncode == 0 and "no login named" not in done.stderr
