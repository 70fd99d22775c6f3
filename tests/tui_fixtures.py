"""TUI test fixtures: a real store in tmp_path and the App built by the CLI's factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace


@pytest.fixture
def tui_locations(tmp_path: Path) -> Locations:
    return Locations(tmp_path / "data" / "store.json", tmp_path / "config" / "store.key")


@pytest.fixture
def tui_store(tui_locations: Locations) -> Locations:
    """A fresh store whose administrator is alice (the test user)."""
    Workspace.init(tui_locations, user="alice")
    return tui_locations


@pytest.fixture
def make_tui_app(tui_store: Locations) -> Callable[..., Any]:
    """build_app for the test store, with a fixed store label for snapshots, acting as
    alice through the in-process seam (the CLI always acts as the real uid)."""
    from mailstage.tui.app import build_app

    def make(**kwargs: Any) -> Any:
        kwargs.setdefault("store_label", "~/store.json")
        kwargs.setdefault("user", "alice")
        return build_app(tui_store, **kwargs)

    return make


def screen_text(app: Any) -> str:
    """What the terminal shows right now, as plain text, one line a row."""
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


def stop_blinking(app: Any) -> None:
    """No blinking cursor anywhere: a blink caught mid-way flakes a snapshot."""
    for screen in app.screen_stack:
        for widget in screen.query("*"):
            if hasattr(widget, "cursor_blink"):
                widget.cursor_blink = False


async def settle(pilot: Any) -> None:
    """Let screen changes land and stop cursors blinking (deterministic snapshots)."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    stop_blinking(pilot.app)
    await pilot.pause()
