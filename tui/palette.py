"""The command palette's own commands: every screen by name, and the frequent actions
("Toggle test list of APP in STAGE: activate", "Send test STAGE", "Edit email of STAGE").

Each command's title holds the words people type for it: "toggle", "test list",
"activate" / "deactivate", "send test", the stage and the app's names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from mailstage.store.models import Stage
    from mailstage.tui.app import MailstageApp


class Command(NamedTuple):
    title: str
    help: str
    run: Callable[[], object]


def commands(app: MailstageApp) -> Iterator[Command]:
    ws = app.workspace
    if ws is None:
        return
    from mailstage.screens.list_labels import count_text
    from mailstage.store.models import Permission

    yield Command("Home", "Where to go, and the next step", app.go_home)
    yield Command("Configure > Emails", "Every stage and its email state", app.open_stage_picker)
    yield Command("Apps", "Apps and their test lists per stage", app.open_apps)
    yield Command("Members", "Who may do what", partial(app.open_destination, "members"))
    yield Command("Audit", "Every change, newest first", partial(app.open_destination, "audit"))
    yield Command(
        "Email log",
        "Every message the relay and Send test handled",
        partial(app.open_destination, "log"),
    )
    yield Command(
        "Queue", "Messages the relay still has to deliver", partial(app.open_destination, "queue")
    )
    if app.capture_folder is not None:
        yield Command(
            "Captured mail",
            "Messages caught by the capture server",
            partial(app.open_destination, "captured"),
        )
    can_email = ws.can(Permission.MANAGE_EMAIL_CONFIGURATIONS)
    can_lists = ws.can(Permission.MANAGE_TEST_LISTS)
    stages = ws.data.ordered_stages()
    for stage in stages:
        marker = production_marker(stage)
        yield Command(
            f"Stage {stage.name}{marker}",
            "The stage's email configuration",
            partial(app.open_stage, stage.name),
        )
        if can_email:
            yield Command(
                f"Edit email of {stage.name}{marker}",
                "The SMTP form of this stage",
                partial(app.open_email_form, stage.name),
            )
        if stage.email is not None and (can_email or can_lists):
            yield Command(
                f"Send test {stage.name}",
                "Send a test email through this stage",
                partial(app.open_send_test, stage.name),
            )
    for mail_app in ws.data.apps:
        yield Command(
            f"App {mail_app.name}",
            "The app's test lists and studio list",
            partial(app.open_apps, mail_app.name),
        )
        if not can_lists:
            continue
        for stage in stages:
            test_list = mail_app.test_list(stage.name)
            verb = "deactivate" if test_list.active else "activate"
            marker = production_marker(stage)
            yield Command(
                f"Toggle test list of {mail_app.name} in {stage.name}{marker}: {verb}",
                f"Now {'active' if test_list.active else 'inactive'}, "
                f"{count_text(len(test_list.addresses))}; saved at once",
                partial(app.toggle_test_list, mail_app.name, stage.name),
            )
    yield Command("Lock", "Forget the store key and show the unlock screen", app.action_lock)


def production_marker(stage: Stage) -> str:
    if not stage.production or "production" in stage.name.casefold():
        return ""
    return " (production)"


class MailstageCommands(Provider):
    def _app(self) -> MailstageApp:
        from mailstage.tui.app import MailstageApp

        app = self.app
        assert isinstance(app, MailstageApp)
        return app

    async def discover(self) -> Hits:
        for command in commands(self._app()):
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in commands(self._app()):
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
