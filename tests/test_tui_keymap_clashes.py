"""Issue 19: a keymap.toml that gives one action another action's key (the README's old
example gave Apps' Remove key x to the quick toggle) never silently takes the key from
that action: the clash is refused, said on start and in F1, and both keep a key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from mailstage.screens.widgets import ConfirmModal
from mailstage.tui.keymap import binding_places, resolve_clashes
from tests.test_tui_apps_support import HarnessApp, make_store, reopen
from tests.tui_fixtures import screen_text, settle

SIZE = (100, 30)
README = Path(__file__).parents[1] / "README.md"


def write_keymap(home: Path, text: str) -> None:
    folder = home / ".config" / "mailstage"
    folder.mkdir(parents=True)
    (folder / "keymap.toml").write_text(text)


def active_in(tmp_path: Path, app_name: str = "Shop") -> bool:
    test_list = reopen(tmp_path).data.app(app_name).test_list("Development")  # type: ignore[union-attr]
    return test_list.active


async def open_apps_on_shop(pilot: Any) -> None:
    await pilot.press("a")
    await settle(pilot)
    await pilot.press("down", "down")  # Shop: its list is empty and inactive
    await settle(pilot)


async def test_a_key_that_another_action_holds_is_refused_and_said(
    tmp_path: Path, isolated_env: Path
) -> None:
    write_keymap(isolated_env, '[keymap]\n"apps.toggle_list" = "x"\n')
    make_store(tmp_path)
    app = HarnessApp(reopen(tmp_path))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        [clash] = app.keymap_clashes
        for words in ("apps.toggle_list", "On/off", "apps.remove_app", '"Remove"', " x"):
            assert words in clash
        assert clash.endswith("It keeps space.")
        toast = screen_text(app)  # the toast, across its lines
        assert "Keymap" in toast and "(apps.remove_app)" in toast and "It keeps space." in toast
        await open_apps_on_shop(pilot)
        footer = screen_text(app).splitlines()[-1]
        assert "space On/off" in footer and "x Remove" in footer
        await pilot.press("x")  # still Remove: it asks first
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "Remove the app Shop" in app.screen.question
        await pilot.press("n")
        await settle(pilot)
        assert reopen(tmp_path).data.app("Shop") is not None
        await pilot.press("f1")
        await settle(pilot)
        assert clash in app.screen.keymap_note
        keys = {item.binding_id: item.keys for item in app.screen.keys}
        assert keys["apps.toggle_list"] == "space" and keys["apps.remove_app"] == "x"


async def test_moving_the_holder_away_first_lets_the_key_go(
    tmp_path: Path, isolated_env: Path
) -> None:
    write_keymap(isolated_env, '[keymap]\n"apps.toggle_list" = "x"\n"apps.remove_app" = "delete"\n')
    make_store(tmp_path)
    app = HarnessApp(reopen(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.keymap_clashes == []
        await open_apps_on_shop(pilot)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")  # an empty list: activating it asks first
        await settle(pilot)
        assert active_in(tmp_path)
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "Remove the app" in app.screen.question


def test_the_readme_example_clashes_with_nothing() -> None:
    from mailstage.tui.app import MailstageApp

    block = re.search(r"```toml\n(\[keymap\].*?)```", README.read_text(), re.S)
    assert block is not None
    keymap = tomllib.loads(block.group(1))["keymap"]
    app_bindings = [
        b for keyed in MailstageApp._merge_bindings().key_to_bindings.values() for b in keyed
    ]
    resolved = resolve_clashes(keymap, binding_places(app_bindings))
    assert resolved.clashes == [] and set(resolved.bindings) == set(keymap)
    old = resolve_clashes({"apps.toggle_list": "x"}, binding_places(app_bindings))
    assert old.bindings == {} and len(old.clashes) == 1
