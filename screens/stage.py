"""A stage: its email configuration read-only, Edit (e) and Send test (t)."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from mailstage.screens.base import MailstageScreen, stage_if_production
from mailstage.screens.widgets import AppFooter, AppHeader, ReadOnlyNote
from mailstage.store.config_rows import config_rows
from mailstage.store.models import AuditEvent, Permission, Stage


def last_tls_seen(audit: list[AuditEvent], stage_name: str, since: datetime | None) -> str:
    """What the newest Send test through the stage since its last change saw of TLS, or
    "" when none did (an older test tested another configuration)."""
    for event in reversed(audit):
        if since is not None and event.at < since:
            return ""
        if event.action == "email.send_test" and event.target.casefold() == stage_name.casefold():
            if seen := event.details.get("tls"):
                return str(seen)
    return ""


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
        stage = self.workspace.data.stage(self.stage_name)
        if stage is None:
            self.query_one("#stage-config", Static).update("This stage no longer exists.")
            return
        title = stage.name + ("  ▲ production stage" if stage.production else "")
        self.query_one("#stage-title", Static).update(title)
        if stage.email is None:
            how = "press e to configure it" if self.may_edit_email() else "an Email Manager can"
            rows = [("State", f"not configured: {how}")]
        else:
            # the rows `mailstage email show` prints, from the same function; after the
            # port, what the last test saw of TLS, not the mode asked for
            seen = last_tls_seen(self.workspace.data.audit, stage.name, stage.email.updated_at)
            rows = config_rows(stage.email.model_dump(mode="json"), as_tested=True, tls_seen=seen)
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
        # a stage without configuration gets the dialog too: it says so and offers e
        self.host.open_send_test(self.stage_name)
