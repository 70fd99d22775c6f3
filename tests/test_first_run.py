"""The first run: no store yet. The TUI explains the store and its key file (and its
backup), creates both on Enter, and Home then says the next step. In a real terminal
(tmux, private server) and through Pilot."""

from __future__ import annotations

import stat
from pathlib import Path

from mailstage.screens.create_store import CreateStoreScreen
from mailstage.screens.home import HomeScreen
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from mailstage.tui.app import build_app
from tests.test_tui_apps_support import flat
from tests.tmux import private_tmux
from tests.tui_fixtures import screen_text, settle


def test_first_run_in_tmux_creates_the_store(tmp_path: Path) -> None:
    store, key = tmp_path / "data" / "store.json", tmp_path / "conf" / "store.key"
    done = tmp_path / "exit-code"
    with private_tmux() as tmux:
        tmux.start_mailstage(store, key, done)
        screen = tmux.wait_for("Create the store (Enter)")
        assert "Welcome to mailstage" in screen and "There is no store yet" in screen
        assert "Back up the key file" in screen
        assert not store.exists()
        tmux.keys("Enter")
        screen = tmux.wait_for("Configure > Emails")
        assert "Next: configure how Development sends email" in screen
        assert "Organization Administrator" in screen
        tmux.keys("q")
        assert tmux.exit_code(done) == "0"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    ws = Workspace.open(Locations(store, key))
    assert ws.role_name == "Organization Administrator"


async def test_first_run_quit_creates_nothing(tmp_path: Path) -> None:
    locations = Locations(tmp_path / "data" / "store.json", tmp_path / "conf" / "store.key")
    app = build_app(locations, user="alice", store_label="~/store.json")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, CreateStoreScreen)
        text = flat(screen_text(app))
        assert "Store ~/store.json (not created yet)" in text
        assert "You (alice) become the store's Organization Administrator" in text
        assert "esc" not in screen_text(app).splitlines()[-1].casefold()
        await pilot.press("q")
        await pilot.pause()
    assert not locations.store.exists() and not locations.key_file.exists()


async def test_first_run_create_opens_home(tmp_path: Path) -> None:
    locations = Locations(tmp_path / "data" / "store.json", tmp_path / "conf" / "store.key")
    app = build_app(locations, user="alice", store_label="~/store.json")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert "alice · Organization Administrator" in screen_text(app)
    assert Workspace.open(locations, user="alice").role_name == "Organization Administrator"
