"""The email form's save toast names the fields saved as the form labels them and in
the form's order: never Security (it follows the port) or a field the form lacks."""

from __future__ import annotations

from typing import Any

from mailstage.store.workspace import Workspace
from tests.test_tui_emails import choose_auth, open_form, type_into
from tests.tui_fixtures import settle


def toasts(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


async def test_the_toast_names_the_form_fields_in_order(make_tui_app: Any, tui_store: Any):
    app = make_tui_app()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await open_form(pilot)
        await choose_auth(pilot, "Basic")
        # port 465: implicit TLS follows, so Security changes too
        filled = {"server": "smtp.example.com", "port": "465", "username": "mailer"}
        filled.update(password="basic-pass-1", sender_email="noreply@example.com")
        for field_id, text in filled.items():
            await type_into(pilot, field_id, text)
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert type(app.screen).__name__ == "StageScreen"
        assert (
            "Saved Development: SMTP server, SMTP port, Authentication type, Username, "
            "Password, Sender email." in toasts(app)
        ), toasts(app)
        app.clear_notifications()

        await pilot.press("e")
        await settle(pilot)
        await type_into(pilot, "sender_name", "Shop")
        await type_into(pilot, "port", "587")  # back to STARTTLS: Security changes again
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        assert toasts(app) == ["Saved Development: SMTP port, Sender name."], toasts(app)
    saved = Workspace.open(tui_store).data.stage("Development").email
    assert saved is not None and saved.security == "starttls" and saved.sender_name == "Shop"
