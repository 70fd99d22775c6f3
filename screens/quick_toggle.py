"""The quick toggle of one app's test list in one stage, shared by the Apps list and
the command palette: saved and audited at once; a production stage asks first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from textual.app import App

from mailstage.screens.base import Host
from mailstage.screens.list_labels import count_text, held_sentence, list_state
from mailstage.screens.widgets import ConfirmModal
from mailstage.store.errors import MailstageError
from mailstage.store.models import Permission, Stage, TestList


def production_question(app_name: str, stage: Stage, count: int) -> str:
    if count:
        effect = (
            f"Real users then receive nothing: every email {app_name} sends in {stage.name} "
            f"goes to the {count_text(count)} of the test list only."
        )
    else:
        effect = held_sentence(app_name, stage.name)
    return f"Activate the test list of {app_name} in {stage.name}, a production stage?\n\n{effect}"


def activation_question(app_name: str, stage: Stage, count: int) -> str | None:
    """The question to ask before activating a test list of ``count`` addresses, or
    None when there is nothing to warn about."""
    if stage.production:
        return production_question(app_name, stage, count)
    if not count:
        return f"Activate the empty test list of {app_name} in {stage.name}?\n\n" + held_sentence(
            app_name, stage.name
        )
    return None


def toggle_test_list(
    app: App[Any],
    app_name: str,
    stage_name: str,
    saved: Callable[[str, TestList], None] | None = None,
) -> None:
    """Turn the list on or off; ``saved(app_name, list)`` runs after the save."""
    host = cast(Host, app)
    ws = host.workspace
    if ws is None:
        return
    if sentence := ws.why_not(Permission.MANAGE_TEST_LISTS):
        app.notify(sentence, severity="warning", markup=False)
        return
    mail_app, stage = ws.data.app(app_name), ws.data.stage(stage_name)
    if mail_app is None or stage is None:
        return
    current = mail_app.test_list(stage.name)
    activate = not current.active

    def apply() -> None:
        try:
            result = ws.set_test_list_active(mail_app.name, stage.name, activate)
        except MailstageError as exc:
            host.report_error(exc)
            return
        if saved is not None:
            saved(mail_app.name, result)
        app.notify(
            f"Test list of {mail_app.name} in {stage.name}: {list_state(result)} (saved).",
            markup=False,
        )

    question = activation_question(mail_app.name, stage, len(current.addresses))
    if activate and question:

        def answered(ok: bool | None) -> None:
            if ok:
                apply()

        app.push_screen(ConfirmModal(question, yes="Activate", no="Cancel"), answered)
        return
    apply()
