"""A stage: its email configuration read-only, Edit (e) and Send test (t)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from mailstage.screens.base import MailstageScreen, stage_if_production
from mailstage.screens.widgets import AppFooter, AppHeader, ReadOnlyNote
from mailstage.store.models import MASK, Permission, Stage
from mailstage.store.text import when_text


def config_lines(stage: Any) -> list[tuple[str, str]]:
    email = stage.email
    if email is None:
        return [("State", "not configured: press e to configure it")]
    rows = [
        ("SMTP server", email.server),
        ("SMTP port", str(email.port)),
        ("Security", "STARTTLS" if email.security == "starttls" else "implicit TLS"),
        ("Authentication type", email.auth_label),
    ]
    auth = email.auth
    if auth.type == "basic":
        rows += [("Username", auth.username), ("Password", MASK)]
    else:
        rows += [
            ("Server Token URL", auth.token_url),
            ("Client ID", auth.client_id),
            ("Client Secret", MASK),
            ("Scopes", " ".join(auth.scopes)),
        ]
    rows += [("Sender email", email.sender_email), ("Sender name", email.sender_name or "—")]
    if email.ca_file:
        rows.append(("CA file", email.ca_file))
    if email.updated_by:
        when = f"{when_text(email.updated_at)} UTC" if email.updated_at else ""
        rows.append(("Last change", f"{email.updated_by} {when}".strip()))
    return rows


class StageScreen(MailstageScreen[None]):
    HELP = (
        "The stage's email configuration, read-only. e opens the form to edit it, t sends "
        "a test email through it. Secrets always show as ********."
    )
    BINDINGS = [
        Binding(
            "e", "edit", "Edit", id="stage.edit", tooltip="Edit this stage's email configuration"
        ),
        Binding(
            "t",
            "send_test",
            "Send test",
            id="stage.send_test",
            tooltip="Send a test email through this stage",
        ),
    ]

    def __init__(self, stage_name: str) -> None:
        super().__init__()
        self.stage_name = stage_name

    @property
    def crumb(self) -> str:
        return f"Emails › {self.stage_name}"

    @property
    def production_stage(self) -> Stage | None:
        return stage_if_production(self.host, self.stage_name)

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield ReadOnlyNote(self.workspace.why_not(Permission.MANAGE_EMAIL_CONFIGURATIONS))
        with VerticalScroll(classes="body"):
            yield Static("", id="stage-title", classes="section-title", markup=False)
            yield Static("", id="stage-config", markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        self.refresh_from_workspace()

    def on_screen_resume(self) -> None:
        self.refresh_from_workspace()

    def refresh_from_workspace(self) -> None:
        ws = self.workspace
        stage = ws.data.stage(self.stage_name) if ws is not None else None
        if stage is None:
            self.query_one("#stage-config", Static).update("This stage no longer exists.")
            return
        title = stage.name + (" (production)" if stage.production else "")
        self.query_one("#stage-title", Static).update(title)
        rows = config_lines(stage)
        width = max(len(label) for label, _ in rows)
        text = "\n".join(f"{label:<{width}}  {value}" for label, value in rows)
        self.query_one("#stage-config", Static).update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit":
            return self.may_edit_email()
        if action == "send_test":
            return self.may_send_test()
        return True

    def action_edit(self) -> None:
        self.host.open_email_form(self.stage_name)

    def action_send_test(self) -> None:
        ws = self.workspace
        stage = ws.data.stage(self.stage_name)
        if stage is None or stage.email is None:
            self.notify("Configure this stage first (press e).", markup=False)
            return
        self.host.open_send_test(self.stage_name)
