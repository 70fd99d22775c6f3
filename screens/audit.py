"""Audit: every change to the store, newest first. Enter shows one event in full.

The audit never holds a secret value (the store records field names, counts and the
added/removed addresses only); as a second guard this screen masks any detail whose
name looks like a secret.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Static

from mailstage.screens.base import MailstageModal, MailstageScreen
from mailstage.screens.widgets import AppFooter, AppHeader
from mailstage.store.models import MASK, AuditEvent
from mailstage.store.text import visible, when_text
from mailstage.store.words import (
    ACTION_WIDTH,
    action_short,
    details_text,
    event_summary,
    field_words,
    fields_text,
)

_SECRET_NAME = re.compile(r"secret|password|passphrase|token|key", re.IGNORECASE)


def when(event: AuditEvent) -> str:
    return when_text(event.at)


def clean(text: object) -> str:
    return visible(text)


def safe_details(details: dict[str, Any]) -> dict[str, Any]:
    """The details with anything named like a secret masked."""
    return {k: (MASK if _SECRET_NAME.search(k) else v) for k, v in details.items()}


def summary(event: AuditEvent) -> str:
    return event_summary(event.fields, event.details)


class AuditEventModal(MailstageModal[None]):
    """One audit event in full."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close", id="audit_event.close", tooltip="Close"),
    ]

    def __init__(self, event: AuditEvent) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        event = self.event
        lines = [
            f"When (UTC): {when(event)}",
            f"Who:        {clean(event.user)}",
            f"Action:     {clean(event.action)}",
            f"Target:     {clean(event.target)}",
            f"Fields:     {fields_text(event.fields) or '-'}",
        ]
        plain = {k: v for k, v in event.details.items() if not isinstance(v, list)}
        if plain:
            lines.append(f"Details:    {details_text(plain)}")
        for key, value in safe_details(event.details).items():
            if isinstance(value, list):
                lines.append(f"{field_words(key).capitalize()}:")
                lines.extend(f"  {clean(v)}" for v in value)
        with Vertical(classes="dialog"):
            yield Static("Audit event", classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static("\n".join(lines), classes="dialog-text", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)


class AuditScreen(MailstageScreen[None]):
    """The audit trail, newest first."""

    TITLE = "Audit"
    HELP = (
        "Every change made to the store, newest first: when (UTC), who, what, on which "
        "stage or app, and the fields that changed. Secrets are never recorded. Enter "
        "shows the highlighted event in full; / filters by user, action or target."
    )

    DEFAULT_CSS = """
    AuditScreen #audit-filter { margin: 0 1; }
    AuditScreen #audit-table { height: 1fr; margin: 0 1; }
    AuditScreen #audit-detail { padding: 0 1; height: 2; }
    AuditScreen #audit-status { padding: 0 1; height: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash,f",
            "focus_filter",
            "Filter",
            id="audit.filter",
            tooltip="Filter by user, action or target",
        ),
        Binding("r", "reload", "Reload", id="audit.reload", tooltip="Read the store again"),
        Binding(
            "escape",
            "clear_filter_or_back",
            "Back",
            id="audit.escape",
            tooltip="Clear the filter first, else go back",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._filter = ""
        self._events: list[AuditEvent] = []

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Input(placeholder="/ filter by user, action or target", id="audit-filter")
        yield DataTable(id="audit-table", cursor_type="row")
        yield Static("", id="audit-detail", markup=False)
        yield Static("", id="audit-status", markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        table = self.query_one("#audit-table", DataTable)
        table.add_column("When (UTC)", key="when", width=16)
        table.add_column("Who", key="who", width=8)
        table.add_column("Action", key="action", width=ACTION_WIDTH)
        table.add_column("Target", key="target", width=19)  # Billing/Development
        table.add_column("What changed", key="details")
        self._fill()
        table.focus()

    def newest_first(self) -> list[AuditEvent]:
        events = list(enumerate(self.workspace.data.audit))
        # newest first; events saved in the same instant keep their recorded order, reversed
        events.sort(key=lambda pair: (pair[1].at, pair[0]), reverse=True)
        return [event for _, event in events]

    def _fill(self) -> None:
        table = self.query_one("#audit-table", DataTable)
        table.clear()
        events = self.newest_first()
        total = len(events)
        if self._filter:
            needle = self._filter
            events = [
                e
                for e in events
                if needle
                in f"{e.user}\n{e.action}\n{action_short(e.action)}\n{e.target}".casefold()
            ]
        self._events = events
        for index, event in enumerate(events):
            table.add_row(
                Text(when(event)),
                Text(clean(event.user)),
                Text(action_short(event.action)),
                Text(clean(event.target)),
                Text(summary(event)),
                key=str(index),
            )
        status = f"{total} events, newest first."
        if self._filter:
            status = f"{len(events)} of {total} events match, newest first."
        self.query_one("#audit-status", Static).update(status)

    def refresh_from_workspace(self) -> None:
        self._fill()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._filter = event.value.strip().casefold()
        self._fill()

    def on_input_submitted(self) -> None:
        self.query_one("#audit-table", DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(AuditEventModal(self._events[int(event.row_key.value)]))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        detail = self.query_one("#audit-detail", Static)
        if event.row_key.value is None:
            detail.update("")
            return
        audit_event = self._events[int(event.row_key.value)]
        action = action_short(audit_event.action)
        detail.update(f"{action} {clean(audit_event.target)}: {summary(audit_event)}")

    def action_clear_filter_or_back(self) -> None:
        box = self.query_one("#audit-filter", Input)
        if box.value:
            box.value = ""
            self.query_one("#audit-table", DataTable).focus()
            return
        self.app.pop_screen()

    def action_focus_filter(self) -> None:
        self.query_one("#audit-filter", Input).focus()

    def action_reload(self) -> None:
        self.host.reload_workspace()
