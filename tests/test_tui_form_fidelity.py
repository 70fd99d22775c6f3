"""The email form as the portal has it (issue 19): mandatory fields marked with *, and
no blank authentication type to fall back to on a stage that has one."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Select

from mailstage.screens.email_form import EmailFormScreen
from mailstage.screens.widgets import Field
from mailstage.store import validation as rules
from tests.test_tui_apps_support import HarnessApp, make_store, screen_text, settle
from tests.test_tui_guidance import configure

FORM_KEYS = (
    "server",
    "port",
    "token_url",
    "client_id",
    "client_secret",
    "username",
    "password",
    "sender_email",
    "sender_name",
)


async def test_mandatory_fields_are_marked_as_the_portal_does(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: EmailFormScreen("Development"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, EmailFormScreen)
        screen = app.screen
        labels = {f.id: f.label_text for f in screen.query(Field)}
        for key in FORM_KEYS:
            refused_when_empty = rules.broken_rule(key, "") is not None
            assert labels[f"field-{key}"].endswith(" *") is refused_when_empty, key
        assert labels["field-scopes"] == "Scopes"  # optional, as in the portal
        assert labels["field-auth"] == "Authentication type *"
        text = screen_text(app)
        assert "Fields marked * are mandatory." in text
        assert "SMTP server *" in text and "Sender email *" in text
        assert "Authentication type *" in text  # on one line, not wrapped at 80 columns


async def test_a_stage_with_a_type_offers_no_blank_type(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    configure(ws, "QA")
    app = HarnessApp(ws, lambda: EmailFormScreen("QA"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, EmailFormScreen)
        select = app.screen.query_one("#auth", Select)
        select.focus()
        for key in ("enter", "down", "enter", "enter", "down", "down", "enter"):
            await pilot.press(key)
            await pilot.pause()
            assert select.value is not Select.NULL, key
        assert "Choose the authentication type" not in screen_text(app)


async def test_a_fresh_stage_still_asks_to_choose(tmp_path: Path) -> None:
    app = HarnessApp(make_store(tmp_path), lambda: EmailFormScreen("QA"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, EmailFormScreen)
        assert app.screen.query_one("#auth", Select).value is Select.NULL
        assert "Choose the authentication type" in screen_text(app)
