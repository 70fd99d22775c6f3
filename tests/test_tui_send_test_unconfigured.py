"""Send test on a stage with no email configuration: the dialog says so at once,
offers no Send and no recipients field to type into, and e opens the stage's form."""

from __future__ import annotations

from typing import Any

from tests.tui_fixtures import screen_text, settle


async def press(pilot: Any, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def test_send_test_from_the_stage_list_says_there_is_no_configuration(make_tui_app: Any):
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "e", "t")  # Emails, Development highlighted, Send test
        screen = app.screen
        assert type(screen).__name__ == "SendTestScreen"
        text = screen_text(app)
        assert "Stage Development has no email configuration yet: press e to configure" in text
        assert screen.query_one("#recipients").disabled
        assert screen.query_one("#start").disabled
        await press(pilot, "f5")
        assert screen.result is None and not screen.steps  # nothing ran, nothing failed
        assert "e Configure" in text and "f5 Send" not in text
        await press(pilot, "e")
        assert type(app.screen).__name__ == "EmailFormScreen"
        assert app.screen.stage_name == "Development"


async def test_send_test_from_the_stage_page_says_so_too(make_tui_app: Any):
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await press(pilot, "e", "enter", "t")
        assert type(app.screen).__name__ == "SendTestScreen"
        assert "has no email configuration yet" in screen_text(app)
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "StageScreen"


async def test_a_viewer_is_told_who_can_configure_it(make_tui_app: Any, tui_store: Any):
    from mailstage.store.workspace import Workspace

    ws = Workspace.open(tui_store, user="alice")
    ws.set_member("carol", "App Developer")  # may send tests, may not configure
    app = make_tui_app(user="carol")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_send_test("Development")
        await settle(pilot)
        assert "no email configuration yet: an Email Manager can configure it" in (
            str(app.screen.query_one("#where").render())
        )
        await press(pilot, "e")
        assert type(app.screen).__name__ == "SendTestScreen"  # no form for carol
