"""Removing a member, an app or a stage from the TUI: asked first, then done through the
Workspace (which checks the permission, saves and audits), errors shown in the dialog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mailstage.screens.widgets import ConfirmModal
from mailstage.store.errors import MailstageError


def confirm_removal(
    screen: Any, question: str, remove: Callable[[], Any], done: Callable[[], None]
) -> None:
    """Ask ``question``; on yes run ``remove`` and then ``done`` (the screen refreshes)."""

    def answered(yes: bool | None) -> None:
        if not yes:
            return
        try:
            remove()
        except MailstageError as exc:
            screen.report_error(exc)
            return
        done()

    screen.app.push_screen(ConfirmModal(question, yes="Remove", no="Keep"), answered)
