"""The first ten minutes and every day after: Home's next step, F1 built from the keys
active now, the palette's frequent actions, the quick toggle on a key navigation cannot
hit, the remembered stage, Esc that clears a filter first, j/k, the keymap file, the
production badge and footers without keys a read-only user cannot use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.command import CommandPalette

from mailstage.screens.apps import AppsScreen
from mailstage.screens.help import HelpScreen
from mailstage.screens.home import HomeScreen
from mailstage.screens.stage import StageScreen
from mailstage.store.workspace import Workspace
from tests.test_tui_apps_support import HarnessApp, flat, make_store, reopen
from tests.tui_fixtures import screen_text, settle

SIZE = (80, 24)


def configure(ws: Workspace, stage: str = "Development") -> None:
    options = {
        "server": "smtp.example.com",
        "auth": "basic",
        "username": "mailer",
        "password": "pw-not-shown",
        "sender_email": "noreply@example.com",
    }
    ws.set_email(stage, ws.email_from_options(stage, options))


def footer_line(app: Any) -> str:
    return screen_text(app).splitlines()[-1]


async def test_home_says_the_next_step_until_set_up(make_tui_app: Any, tui_store: Any) -> None:
    app = make_tui_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Next: configure how Development sends email. Press e" in flat(text)
        assert "0 of 3 stages configured · 0 apps · 0 active test lists" in text

        ws = app.workspace
        configure(ws)
        app.reload_workspace()
        await settle(pilot)
        assert "and add your apps: press a, then n" in flat(screen_text(app))

        ws.add_app("Shop")
        app.reload_workspace()
        await settle(pilot)
        assert "Next: give an app a test list" in flat(screen_text(app))

        ws.save_test_list("Shop", "QA", ["qa@example.com"], True)
        app.reload_workspace()
        await settle(pilot)
        text = screen_text(app)
        assert "Next:" not in text
        assert "1 of 3 stages configured · 1 app · 1 active test list" in text


async def test_home_next_step_for_a_viewer_asks_someone_else(tmp_path: Path) -> None:
    make_store(tmp_path)
    ws = reopen(tmp_path, user="bob")  # a Viewer
    app = HarnessApp(ws)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "ask an Email Manager to configure one" in flat(screen_text(app))


async def test_help_lists_only_the_keys_that_work_here(make_tui_app: Any) -> None:
    app = make_tui_app()  # no capture folder: no Captured mail, no c
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "esc" not in footer_line(app).casefold()  # Esc has nowhere to go on Home
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        listed = {item.binding_id for item in app.screen.keys}
        assert {"home.emails", "home.apps", "app.help", "home.quit"} <= listed
        assert "home.captured" not in listed and "app.back" not in listed
        assert "Captured" not in screen_text(app)


async def test_palette_reaches_screens_and_toggles_by_name(tmp_path: Path) -> None:
    make_store(tmp_path)
    app = HarnessApp(reopen(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for query in ("toggle", "test list", "activate"):
            await pilot.press("ctrl+p")
            await settle(pilot)
            await pilot.press(*query)
            await settle(pilot)
            hits = [line.strip() for line in screen_text(app).splitlines()]
            assert any(h.startswith("Toggle test list of ") for h in hits), query
            assert any(h.endswith("activate") for h in hits), query
            while isinstance(app.screen, CommandPalette):
                await pilot.press("escape")
                await settle(pilot)

        # Shop is inactive in QA: the palette activates it, saved at once
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"toggle Shop QA")
        await settle(pilot)
        assert "Toggle test list of Shop in QA: activate" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        # Shop's QA list is empty: the question says its mail will be held; y activates
        assert "will be held (nobody receives it)" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        assert reopen(tmp_path).data.app("Shop").test_list("QA").active is True  # type: ignore[union-attr]

        for name, screen in (
            ("Members", "MembersScreen"),
            ("Audit", "AuditScreen"),
            ("Email log", "EmailLogScreen"),
        ):
            await pilot.press("ctrl+p")
            await settle(pilot)
            await pilot.press(*name, "enter")
            await settle(pilot)
            assert type(app.screen).__name__ == screen
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Home", "enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_a_a_from_home_opens_apps_and_changes_nothing(tmp_path: Path) -> None:
    make_store(tmp_path)
    app = HarnessApp(reopen(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a", "a")
        await settle(pilot)
        assert isinstance(app.screen, AppsScreen)
        before = reopen(tmp_path).data
        assert before.app("Billing").test_list("Development").active is True  # type: ignore[union-attr]
        assert len(before.audit) == len(app.workspace.data.audit)
        # the quick toggle has its own key, shown in the footer
        assert "space On/off" in footer_line(app)
        await pilot.press("space")
        await settle(pilot)
        assert reopen(tmp_path).data.app("Billing").test_list("Development").active is False  # type: ignore[union-attr]


async def test_apps_keeps_the_stage_and_esc_clears_the_filter_first(tmp_path: Path) -> None:
    make_store(tmp_path)
    app = HarnessApp(reopen(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("s", "s")  # Development -> QA -> Production
        await settle(pilot)
        assert "Stage: Production" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("a")
        await settle(pilot)
        assert "Stage: Production" in screen_text(app)

        await pilot.press("slash", *"sho")
        await settle(pilot)
        assert "1 of 3 apps match" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, AppsScreen)
        assert "3 apps." in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


async def test_j_and_k_move_in_lists(tmp_path: Path) -> None:
    make_store(tmp_path)
    app = HarnessApp(reopen(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("j", "j")
        await settle(pilot)
        assert app.screen.query_one("#menu").highlighted == 2
        await pilot.press("k")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AppsScreen)
        await pilot.press("j")
        await settle(pilot)
        assert app.screen.highlighted_app == "Portal"
        await pilot.press("slash", "j")  # in the filter, j is a letter
        await settle(pilot)
        assert app.screen.query_one("#apps-filter").value == "j"


async def test_user_keymap_remaps_by_binding_id(tmp_path: Path, isolated_env: Path) -> None:
    folder = isolated_env / ".config" / "mailstage"
    folder.mkdir(parents=True)
    (folder / "keymap.toml").write_text(
        '[keymap]\n"apps.toggle_list" = "t"\n"no.such_binding" = "z"\n"app.help" = 3\n'
    )
    make_store(tmp_path)
    app = HarnessApp(reopen(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.user_keymap.problems == [
            f"{folder / 'keymap.toml'}: 'app.help' needs a key name, such as \"x\"."
        ]
        await pilot.press("a")
        await settle(pilot)
        assert "t On/off" in footer_line(app)
        await pilot.press("space")
        await settle(pilot)
        assert reopen(tmp_path).data.app("Billing").test_list("Development").active is True  # type: ignore[union-attr]
        await pilot.press("t")
        await settle(pilot)
        assert reopen(tmp_path).data.app("Billing").test_list("Development").active is False  # type: ignore[union-attr]
        await pilot.press("f1")
        await settle(pilot)
        keys = {item.binding_id: item.keys for item in app.screen.keys}
        assert keys["apps.toggle_list"] == "t"
        assert "Keymap ids that do not exist (ignored): no.such_binding" in app.screen.keymap_note


async def test_a_broken_keymap_file_is_named_and_ignored(isolated_env: Path) -> None:
    from mailstage.tui.keymap import load_keymap

    path = isolated_env / "keymap.toml"
    path.write_text("[keymap\n")
    keymap = load_keymap(path)
    assert keymap.bindings == {}
    assert keymap.problems[0].startswith(f"{path} is not valid TOML")


async def test_read_only_footer_has_no_action_keys(tmp_path: Path) -> None:
    make_store(tmp_path)
    app = HarnessApp(reopen(tmp_path, user="bob"))  # a Viewer
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        footer = footer_line(app)
        assert "On/off" not in footer and "New app" not in footer
        assert "Filter" in footer and "Stage" in footer
        await pilot.press("f1")
        await settle(pilot)
        listed = {item.binding_id for item in app.screen.keys}
        assert "apps.toggle_list" not in listed and "apps.add_app" not in listed


async def test_production_screens_carry_the_badge(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    configure(ws, "Production")
    app = HarnessApp(reopen(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.open_stage("Production")
        await settle(pilot)
        assert isinstance(app.screen, StageScreen)
        assert "▲ PRODUCTION" in screen_text(app).splitlines()[0]
        await pilot.press("e")
        await settle(pilot)
        text = screen_text(app)
        assert "▲ PRODUCTION" in text.splitlines()[0]
        assert "▲ Production stage: a change here applies" in flat(text)
        app.pop_screen()
        app.pop_screen()
        app.open_stage("QA")
        await settle(pilot)
        assert "PRODUCTION" not in screen_text(app)
