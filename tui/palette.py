"""The command palette's own commands: jump to a stage or an app, send test, lock."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class MailstageCommands(Provider):
    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app: Any = self.app
        ws = getattr(app, "workspace", None)
        if ws is None:
            return []
        commands: list[tuple[str, str, Callable[[], Any]]] = [
            (
                "Emails: stage picker",
                "Every stage and its email configuration",
                app.open_stage_picker,
            ),
        ]
        for stage in ws.data.ordered_stages():
            commands.append(
                (
                    f"Stage {stage.name}",
                    "Open the stage's email configuration",
                    partial(app.open_stage, stage.name),
                )
            )
            commands.append(
                (
                    f"Send test: {stage.name}",
                    "Send a test email through this stage",
                    partial(app.open_send_test, stage.name),
                )
            )
        for mail_app in ws.data.apps:
            commands.append(
                (
                    f"App {mail_app.name}",
                    "Open the app's test lists",
                    partial(app.open_apps, mail_app.name),
                )
            )
        commands.append(
            ("Lock", "Forget the store key and show the unlock screen", app.action_lock)
        )
        return commands

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
