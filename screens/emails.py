"""Configure > Emails: the stage picker, every stage with its state."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mailstage.screens.base import MailstageScreen
from mailstage.screens.removal import confirm_removal
from mailstage.screens.widgets import AppFooter, AppHeader
from mailstage.store.models import Permission
from mailstage.store.stage_names import looks_like_production


def stage_state(stage: Any) -> str:
    email = stage.email
    if email is None:
        return "not configured"
    sender = email.sender_email
    if email.sender_name:
        sender = f"{email.sender_name} <{email.sender_email}>"
    return f"{email.server}:{email.port} · {email.auth_label} · {sender}"


class EmailsScreen(MailstageScreen[None]):
    TITLE = "Configure > Emails"
    HELP = (
        "Every stage and the state of its email configuration. Choose a stage with the "
        "arrows and press Enter to see it; e edits the highlighted stage, t sends a "
        "test through it, n adds a stage and x removes the highlighted one (a stage whose "
        "name reads as production asks for its name typed out)."
    )
    BINDINGS = [
        Binding("enter", "open", "Open", show=False, id="emails.open", tooltip="Open the stage"),
        Binding("e", "edit", "Edit", id="emails.edit", tooltip="Edit the highlighted stage"),
        Binding("n", "add_stage", "New", id="emails.add_stage", tooltip="Add a stage"),
        Binding(
            "x",
            "remove_stage",
            "Remove",
            id="emails.remove_stage",
            tooltip="Remove the highlighted stage, its configuration and test lists (asks first)",
        ),
        Binding(
            "t",
            "send_test",
            "Send test",
            id="emails.send_test",
            tooltip="Send a test email through the highlighted stage",
        ),
    ]

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Static("Stages", classes="section-title body-title")
        yield OptionList(id="stages", classes="menu")
        yield AppFooter()

    def on_mount(self) -> None:
        self.refresh_from_workspace()
        self.query_one("#stages", OptionList).focus()

    def on_screen_resume(self) -> None:
        self.refresh_from_workspace()

    def refresh_from_workspace(self) -> None:
        ws = self.workspace
        if ws is None:
            return
        stages = self.query_one("#stages", OptionList)
        highlighted = stages.highlighted
        stages.clear_options()
        for stage in ws.data.ordered_stages():
            name = stage.name + ("  [production]" if stage.production else "")
            stages.add_option(Option(Text(f"{name}\n  {stage_state(stage)}"), id=stage.name))
        if stages.option_count:
            stages.highlighted = min(highlighted or 0, stages.option_count - 1)

    def _current(self) -> str | None:
        stages = self.query_one("#stages", OptionList)
        if stages.highlighted is None:
            return None
        return stages.get_option_at_index(stages.highlighted).id

    @on(OptionList.OptionSelected, "#stages")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.host.open_stage(event.option.id)

    def action_open(self) -> None:
        if name := self._current():
            self.host.open_stage(name)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit":
            return self.may_edit_email()
        if action == "send_test":
            return self.may_send_test()
        if action in ("remove_stage", "add_stage"):
            return self.workspace.can(Permission.MANAGE_STAGES)
        return True

    def action_remove_stage(self) -> None:
        name = self._current()
        if name is None:
            return
        ws = self.workspace
        stage = ws.data.stage(name)
        lists = sum(1 for app in ws.data.apps if name in app.test_lists)
        question = (
            f"Remove the stage {name}? Its email configuration and {lists} app test list(s) "
            "for it go with it."
        )
        production = looks_like_production(name, flagged=stage is not None and stage.production)
        confirm_removal(
            self,
            question + (" It looks like a production stage." if production else ""),
            lambda: ws.remove_stage(name),
            self.refresh_from_workspace,
            typed=name if production else None,
        )

    def action_add_stage(self) -> None:
        from mailstage.screens.add_stage import AddStageModal

        def added(name: str | None) -> None:
            if name is None:
                return
            self.refresh_from_workspace()
            self._highlight(name)
            self.notify(f"Added the stage {name}.", markup=False)

        self.app.push_screen(AddStageModal(), added)

    def _highlight(self, name: str) -> None:
        stages = self.query_one("#stages", OptionList)
        stages.highlighted = stages.get_option_index(name)

    def action_edit(self) -> None:
        if name := self._current():
            self.host.open_email_form(name)

    def action_send_test(self) -> None:
        if name := self._current():
            self.host.open_send_test(name)
