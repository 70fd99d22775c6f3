"""Queue: the messages the relay still has to deliver, with their age, attempts and
upstream's last reply. r retries the highlighted one now, h holds or releases it, x
deletes it (asks first). It reads the queue again every second."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from mailstage.relay import steering
from mailstage.relay.queue import QueueItem
from mailstage.relay.steering import age_text as age
from mailstage.screens.base import MailstageScreen
from mailstage.screens.removal import confirm_removal
from mailstage.screens.widgets import AppFooter, AppHeader, ReadOnlyNote, highlighted_row_key
from mailstage.store.errors import MailstageError
from mailstage.store.models import Permission
from mailstage.store.text import visible

REFRESH_SECONDS = 1.0
ACTIONS = ("retry", "hold_release", "delete")


class QueueScreen(MailstageScreen[None]):
    TITLE = "Queue"
    HELP = (
        "The messages the relay answered `250 Queued` for and still has to deliver, oldest "
        "first: state (queued, held, sending), age, attempts, when it tries next and "
        "upstream's last reply. r tries the highlighted message again now, h holds or "
        "releases it, x deletes it for good (asks first; audited). Those need the "
        "permission Manage Email Configurations. The list refreshes every second."
    )

    DEFAULT_CSS = """
    QueueScreen #queue-table { height: 1fr; margin: 0 1; }
    QueueScreen #queue-status { padding: 0 1; height: 1; }
    QueueScreen #queue-reply { padding: 0 1; height: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry", id="queue.retry", tooltip="Try the message again now"),
        Binding(
            "h",
            "hold_release",
            "Hold/release",
            id="queue.hold",
            tooltip="Keep the message from being sent, or let it go again",
        ),
        Binding(
            "x",
            "delete",
            "Delete",
            id="queue.delete",
            tooltip="Drop the message for good (asks first)",
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._items: dict[str, QueueItem] = {}

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield ReadOnlyNote(
            self.workspace.why_not(Permission.MANAGE_EMAIL_CONFIGURATIONS), id="queue-readonly"
        )
        yield DataTable(id="queue-table", cursor_type="row")
        yield Static("", id="queue-reply", markup=False)
        yield Static("", id="queue-status", markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        table = self.query_one("#queue-table", DataTable)
        table.add_column("Id", key="id", width=12)
        table.add_column("State", key="state", width=7)
        table.add_column("Stage", key="stage", width=8)
        table.add_column("App", key="app", width=8)
        table.add_column("Age", key="age", width=4)
        table.add_column("Tries", key="attempts", width=5)
        table.add_column("Subject", key="subject", width=14)
        table.add_column("Last reply", key="reply")
        self._fill()
        table.focus()
        self.set_interval(REFRESH_SECONDS, self._fill)

    def _fill(self) -> None:
        table = self.query_one("#queue-table", DataTable)
        keep = highlighted_row_key(table)
        try:
            items = steering.entries(self.workspace)
        except (OSError, MailstageError) as exc:
            self.query_one("#queue-status", Static).update(f"Cannot read the queue: {exc}")
            return
        self._items = {item.id: item for item in items}
        table.clear()
        now = time.time()
        for item in items:
            table.add_row(
                Text(item.id),
                Text(item.state),
                Text(visible(item.stage)),
                Text(visible(item.app or "-")),
                Text(age(now - item.queued_at)),
                Text(str(item.attempts)),
                Text(visible(item.subject)),
                Text(visible(item.last_reply)),
                key=item.id,
            )
        if keep in self._items:
            table.move_cursor(row=list(self._items).index(keep), animate=False)
        self.query_one("#queue-status", Static).update(self._status(items, now))
        self._show_reply()

    def on_data_table_row_highlighted(self) -> None:
        self._show_reply()

    def _show_reply(self) -> None:
        """The highlighted entry's last reply in full (the column is cut at 80 columns)."""
        item = self.highlighted
        text = f"{item.id}: {visible(item.last_reply) or 'not tried yet'}" if item else ""
        self.query_one("#queue-reply", Static).update(text)

    @staticmethod
    def _status(items: list[QueueItem], now: float) -> str:
        if not items:
            return "The queue is empty: the relay has delivered everything it accepted."
        held = sum(item.state == "held" for item in items)
        upcoming = [i.next_attempt for i in items if i.state == "queued"]
        soonest = min(upcoming) if upcoming else None
        text = f"{len(items)} message(s) waiting" + (f", {held} held" if held else "")
        if soonest is not None:
            text += ", next try " + ("now" if soonest <= now else f"in {age(soonest - now)}")
        return text + "."

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ACTIONS:
            return self.workspace.can(Permission.MANAGE_EMAIL_CONFIGURATIONS)
        return True

    @property
    def highlighted(self) -> QueueItem | None:
        key = highlighted_row_key(self.query_one("#queue-table", DataTable))
        return self._items.get(key) if key is not None else None

    def _steer(self, change: str) -> None:
        item = self.highlighted
        if item is None:
            return
        try:
            if change == "retry":
                steering.retry(self.workspace, item.id, wait=0)
                said = "is due now: a running relay tries it within a second"
            elif item.state == "held":
                steering.release(self.workspace, item.id, wait=0)
                said = "is released"
            else:
                steering.hold(self.workspace, item.id, wait=0)
                said = "is held: the relay leaves it until it is released"
        except MailstageError as exc:
            self.report_error(exc)
            return
        self._fill()
        self.notify(f"Queue entry {item.id} {said}.", markup=False)

    def action_retry(self) -> None:
        self._steer("retry")

    def action_hold_release(self) -> None:
        self._steer("hold")

    def action_delete(self) -> None:
        item = self.highlighted
        if item is None:
            return

        def deleted() -> None:
            self._fill()
            self.notify(f"Queue entry {item.id} is deleted.", markup=False)

        confirm_removal(
            self,
            visible(
                f"Delete queue entry {item.id} ({item.app or '-'}, {item.subject or 'no subject'}"
                f")? Its recipients that have not received it never will."
            ),
            lambda: steering.delete(self.workspace, item.id, wait=0),
            deleted,
        )
