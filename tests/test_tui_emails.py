"""Pilot tests of the Emails flow, keyboard only, checked through the real store file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Button, Input

from mailstage.store.errors import Conflict
from mailstage.store.models import Permission
from mailstage.store.workspace import Workspace
from tests.tui_fixtures import screen_text, settle

MS_TOKEN_URL = "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"


async def open_form(pilot: Any, stage_key_presses: tuple[str, ...] = ()) -> Any:
    """Home > Emails > (stage) > Edit, with keys only."""
    await pilot.press("e")
    await settle(pilot)
    await pilot.press(*stage_key_presses, "enter")
    await settle(pilot)
    await pilot.press("e")
    await settle(pilot)
    return pilot.app.screen


async def choose_auth(pilot: Any, label: str) -> None:
    """Focus the Authentication type Select and pick an entry by its label."""
    screen = pilot.app.screen
    screen.query_one("#auth").focus()
    await pilot.press("enter")
    await settle(pilot)
    # the overlay lists: prompt (when blank is allowed), OAuth, Basic
    await pilot.press("home")
    downs = {"OAuth 2.0 - client credentials": 1, "Basic": 2}[label]
    for _ in range(downs):
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)


async def type_into(pilot: Any, field_id: str, text: str) -> None:
    widget = pilot.app.screen.query_one(f"#{field_id}", Input)
    widget.focus()
    widget.value = ""
    if text:
        await pilot.press(*text)
    await pilot.pause()


def shown(screen: Any, key: str) -> bool:
    return bool(screen.query_one(f"#field-{key}").display)


async def test_configure_basic_switching_types_and_port_25(make_tui_app: Any, tui_store: Any):
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(pilot)
        assert type(form).__name__ == "EmailFormScreen"
        assert form.query_one("#port", Input).value == "587"
        # nothing chosen yet: no auth fields, Save disabled
        assert not any(shown(form, k) for k in ("username", "token_url", "client_secret"))
        assert form.query_one("#save", Button).disabled

        await pilot.press(*"smtp.example.com", "tab")
        await pilot.press("backspace", "backspace", "backspace", "2", "5")
        await settle(pilot)
        assert "25 is refused" in form.query_one("#field-port").error
        assert "25 is refused" in screen_text(app)
        assert form.query_one("#save", Button).disabled
        await pilot.press("backspace", "backspace", *"587")

        await choose_auth(pilot, "Basic")
        assert shown(form, "username") and shown(form, "password")
        assert not shown(form, "token_url") and not shown(form, "client_secret")
        await type_into(pilot, "username", "mailer")
        await type_into(pilot, "password", "basic-pass-1")

        # switch to OAuth, fill some, and back to Basic
        await choose_auth(pilot, "OAuth 2.0 - client credentials")
        assert shown(form, "token_url") and shown(form, "client_id")
        assert not shown(form, "username") and not shown(form, "password")
        await type_into(pilot, "token_url", MS_TOKEN_URL)
        await type_into(pilot, "client_id", "client-123")
        await type_into(pilot, "client_secret", "oauth-secret-1")
        await choose_auth(pilot, "Basic")
        assert shown(form, "username") and not shown(form, "token_url")

        await type_into(pilot, "sender_email", "noreply@example.com")
        await settle(pilot)
        assert not form.query_one("#save", Button).disabled, form.problems()
        await pilot.press("f2")
        await settle(pilot)
        assert type(app.screen).__name__ == "StageScreen"
        text = screen_text(app)
        assert "smtp.example.com" in text and "Basic" in text
        assert "basic-pass-1" not in text

    saved = Workspace.open(tui_store).data.stage("Development").email
    assert saved is not None
    assert saved.auth.type == "basic"
    assert saved.auth.username == "mailer"
    assert saved.auth.password.get_secret_value() == "basic-pass-1"
    assert saved.port == 587 and saved.server == "smtp.example.com"
    dumped = saved.model_dump_json(context={"reveal_secrets": True})
    assert "oauth-secret-1" not in dumped and "client-123" not in dumped


async def test_configure_oauth_and_reopen_keeps_secret(make_tui_app: Any, tui_store: Any):
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(pilot, ("down",))
        assert form.stage_name == "QA"
        await type_into(pilot, "server", "smtp.office365.com")
        await choose_auth(pilot, "Basic")
        await type_into(pilot, "username", "should-not-be-saved")
        await choose_auth(pilot, "OAuth 2.0 - client credentials")
        await type_into(pilot, "token_url", MS_TOKEN_URL)
        await settle(pilot)
        assert "outlook.office365.com/.default" in screen_text(app)  # suggested scope note
        await type_into(pilot, "client_id", "client-abc")
        await type_into(pilot, "client_secret", "s3cret-value")
        await type_into(pilot, "sender_email", "app@contoso.com")
        await type_into(pilot, "sender_name", "Contoso QA")
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)

        # reopen: values shown, secret not, placeholder says it is kept
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert form.query_one("#server", Input).value == "smtp.office365.com"
        assert form.query_one("#client_id", Input).value == "client-abc"
        assert form.query_one("#scopes", Input).value == "https://outlook.office365.com/.default"
        assert form.query_one("#client_secret", Input).value == ""
        assert "********" in form.query_one("#client_secret", Input).placeholder
        assert "s3cret-value" not in screen_text(app)
        assert not form.query_one("#save", Button).disabled
        await type_into(pilot, "sender_name", "Contoso QA team")
        await pilot.press("f2")
        await settle(pilot)

    saved = Workspace.open(tui_store).data.stage("QA").email
    assert saved.auth.type == "oauth2_client_credentials"
    assert saved.auth.client_secret.get_secret_value() == "s3cret-value"
    assert saved.sender_name == "Contoso QA team"
    assert "should-not-be-saved" not in saved.model_dump_json(context={"reveal_secrets": True})


async def test_cancel_asks_before_discarding(make_tui_app: Any, tui_store: Any):
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_form(pilot)
        await pilot.press(*"smtp.example.com")
        await pilot.press("escape")
        await settle(pilot)
        assert type(app.screen).__name__ == "ConfirmModal"
        await pilot.press("n")
        await settle(pilot)
        assert type(app.screen).__name__ == "EmailFormScreen"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert type(app.screen).__name__ == "StageScreen"
    assert Workspace.open(tui_store).data.stage("Development").email is None


async def test_read_only_form_for_a_viewer(make_tui_app: Any, tui_store: Any):
    ws = Workspace.open(tui_store, user="alice")
    ws.set_member("victor", "Viewer")
    app = make_tui_app(user="victor")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        # a Viewer has no Edit key: the stage screen says why, the footer offers no e
        assert "Read-only. You (victor) lack the permission Manage Email" in screen_text(app)
        assert "Edit" not in screen_text(app).splitlines()[-1]
        await pilot.press("e")
        await settle(pilot)
        assert type(app.screen).__name__ == "StageScreen"
        app.open_email_form("Development")  # reached another way, the form is read-only
        await settle(pilot)
        form = app.screen
        sentence = app.workspace.why_not(Permission.MANAGE_EMAIL_CONFIGURATIONS)
        assert sentence and "Manage Email Configurations" in sentence
        assert "lack the permission" in screen_text(app)
        assert form.query_one("#server", Input).disabled
        assert form.query_one("#save", Button).disabled
        await pilot.press("f2")
        await pilot.press("escape")
        await settle(pilot)
        assert type(app.screen).__name__ == "StageScreen"
    assert Workspace.open(tui_store).data.stage("Development").email is None


async def test_conflict_shows_dialog_and_reload_keeps_edits(make_tui_app: Any, tui_store: Any):
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_form(pilot)
        await pilot.press(*"smtp.example.com")
        await choose_auth(pilot, "Basic")
        await type_into(pilot, "username", "u1")
        await type_into(pilot, "password", "p1-secret")
        await type_into(pilot, "sender_email", "a@example.com")
        other = Workspace.open(tui_store, user="alice")  # another admin saves first
        other.add_app("Orders")
        await pilot.press("f2")
        await settle(pilot)
        assert type(app.screen).__name__ == "MessageDialog"
        assert "Another admin saved first" in screen_text(app)
        assert "alice added the app Orders" in screen_text(app)  # what changed is shown
        await pilot.press("r")
        await settle(pilot)
        assert type(app.screen).__name__ == "EmailFormScreen"
        assert app.workspace.data.app("Orders") is not None
        # nothing typed was lost, the password included: saving again just works
        await pilot.press("f2")
        await settle(pilot)
        assert type(app.screen).__name__ == "StageScreen"
    data = Workspace.open(tui_store).data
    assert data.stage("Development").email.auth.username == "u1"
    assert data.stage("Development").email.auth.password.get_secret_value() == "p1-secret"
    assert data.app("Orders") is not None


def test_error_dialog_texts() -> None:
    from mailstage.store.errors import InvalidInput, NotPermitted
    from mailstage.tui.app import error_dialog_text

    assert error_dialog_text(Conflict("x"))[2] is True
    title, message, reload = error_dialog_text(InvalidInput("Port (port) bad.", [("port", "bad")]))
    assert title == "Invalid input" and "Port" in message and not reload
    assert error_dialog_text(NotPermitted("no", "p"))[0] == "Not permitted"
    assert "RuntimeError" in error_dialog_text(RuntimeError("secret=xyz"))[1]
    assert "xyz" not in error_dialog_text(RuntimeError("secret=xyz"))[1]


async def test_passphrase_store_opens_on_unlock_screen(tui_locations: Any, tmp_path: Path):
    from mailstage.tui.app import build_app

    Workspace.init(tui_locations, user="alice", passphrase="correct horse")
    app = build_app(tui_locations)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == "UnlockScreen"
        await pilot.press(*"wrong", "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "UnlockScreen"
        assert app.workspace is None
        await pilot.press(*"correct horse", "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "HomeScreen"
        assert app.workspace is not None
        app.action_lock()
        await settle(pilot)
        assert type(app.screen).__name__ == "UnlockScreen" and app.workspace is None


async def test_navigation_help_palette_and_quit(make_tui_app: Any):
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "alice · Organization Administrator · ~/store.json" in text
        assert "Configure > Emails" in text and "Captured mail" not in text
        await pilot.press("f1")
        await settle(pilot)
        assert type(app.screen).__name__ == "HelpScreen"
        assert "Help: Home" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Stage QA")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "StageScreen"
        assert app.screen.stage_name == "QA"
        assert "not configured" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot)
        assert type(app.screen).__name__ == "HomeScreen"
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


def test_every_binding_has_an_id_and_a_description() -> None:
    """Every Binding anywhere in the package, found by walking it (no hand-kept list)."""
    import importlib
    import inspect
    import pkgutil

    from textual.binding import Binding
    from textual.dom import DOMNode

    import mailstage.screens
    import mailstage.tui

    forbidden = {"ctrl+s", "ctrl+h", "ctrl+i", "ctrl+m", "ctrl+j", "ctrl+enter"}
    checked = 0
    for package in (mailstage.screens, mailstage.tui):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ != module.__name__ or not issubclass(cls, DOMNode):
                    continue
                for binding in cls.__dict__.get("BINDINGS", []):
                    assert isinstance(binding, Binding), (cls, binding)
                    assert binding.id and binding.description and binding.tooltip, binding
                    assert not set(binding.key.split(",")) & forbidden, binding
                    checked += 1
    assert checked > 50


async def test_oauth_without_a_scope_saves_for_any_token_url(make_tui_app: Any, tui_store: Any):
    # Scopes is optional as in the portal: a non-Microsoft token URL needs none
    app = make_tui_app()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(pilot, ("down",))
        await type_into(pilot, "server", "smtp.example.com")
        await choose_auth(pilot, "OAuth 2.0 - client credentials")
        await type_into(pilot, "token_url", "https://idp.example.com/oauth/token")
        await type_into(pilot, "client_id", "client-abc")
        await type_into(pilot, "client_secret", "s3cret-value")
        await type_into(pilot, "sender_email", "app@example.com")
        await settle(pilot)
        assert "scopes" not in form.problems()
        assert "at least one scope" not in screen_text(app)
        assert not form.query_one("#save", Button).disabled
        await pilot.press("f2")
        await settle(pilot)

    saved = Workspace.open(tui_store).data.stage("QA").email
    assert saved is not None and saved.auth.type == "oauth2_client_credentials"
    assert saved.auth.token_url == "https://idp.example.com/oauth/token"
    assert saved.auth.scopes == []
