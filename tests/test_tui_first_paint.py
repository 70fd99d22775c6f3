"""Home is the first screen painted; the store is decrypted and decoded in a worker
after it, and Home fills in who you are when it is ready."""

from __future__ import annotations

import threading
from typing import Any

from mailstage.store import envelope
from tests.tui_fixtures import screen_text, settle


def _hold_the_open(app: Any) -> threading.Event:
    """Keep the worker from opening the store until the test lets it."""
    release = threading.Event()
    opening = app._open_in_thread

    def held() -> None:
        release.wait(30)
        opening()

    app._open_in_thread = held
    return release


async def test_home_is_painted_before_the_store_is_opened(make_tui_app: Any):
    app = make_tui_app()
    release = _hold_the_open(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen" and len(app.screen_stack) == 1
        assert app.workspace is None
        text = screen_text(app)
        assert "Configure > Emails" in text and "Opening the store" in text
        assert "(opening…)" in text
        await pilot.press("a")  # chosen while opening: remembered
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen"
        release.set()
        await settle(pilot)
        assert app.workspace is not None
        assert type(app.screen).__name__ == "AppsScreen"
        await pilot.press("escape")
        await settle(pilot)
        text = screen_text(app)
        assert "alice · Organization Administrator · ~/store.json" in text
        assert "of 3 stages configured" in text


async def test_a_store_that_does_not_open_after_the_paint_exits_with_its_code(
    make_tui_app: Any, tui_store: Any
):
    raw = bytearray(tui_store.store.read_bytes())
    core = envelope.parse_prefix(bytes(raw), tui_store.store).sections[0]
    raw[core.offset + 3] ^= 0x01  # the header still reads; the core does not decrypt
    tui_store.store.write_bytes(bytes(raw))
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
    assert app.return_code == 5
    assert app.startup_error is not None
    assert app.startup_error.message == envelope.unreadable(tui_store.store).message
