"""Email log: every message the relay and Send test handled, newest first. Filters by
app (typed), stage and outcome (keys that cycle); Enter shows a record in full; new
records appear as they are written."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Static

from mailstage.mailer.maillog import OUTCOMES, LogRecord, MailLog, newest_first
from mailstage.screens.base import MailstageModal, MailstageScreen
from mailstage.screens.widgets import AppFooter, AppHeader
from mailstage.store.errors import MailstageError
from mailstage.store.text import visible

SHOWN_LIMIT = 2000
FOLLOW_SECONDS = 1.0


def record_details(record: LogRecord) -> str:
    """Every field of a record, one a line, made safe to show."""
    routed = "yes: the app's test list received it" if record.redirected else "no"
    lines = [
        f"When (UTC):   {record.time}",
        f"Outcome:      {record.outcome}",
        f"Source:       {record.source}",
        f"Stage:        {record.stage}",
        f"App:          {record.app or '-'}",
        f"From (peer):  {record.peer or '-'}",
        f"Message-ID:   {record.message_id or '-'}",
        f"Subject:      {record.subject or '-'}",
        f"Redirected:   {routed}",
        f"Took:         {record.ms} ms",
        f"Reply:        {record.reply or '-'}",
        "Recipients (as the app addressed it):",
        *[f"  {address}" for address in record.recipients],
        "Delivered to:",
        *([f"  {address}" for address in record.delivered_to] or ["  nobody"]),
        *(["Refused:"] if record.refused else []),
        *[f"  {address}: {words}" for address, words in record.refused.items()],
        *([f"Queue entry:  {record.queue_id}"] if record.queue_id else []),
    ]
    return "\n".join(visible(line) for line in lines)


class EmailRecordModal(MailstageModal[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "Close", id="email_record.close", tooltip="Close"),
    ]

    def __init__(self, record: LogRecord) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Email log record", classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(record_details(self.record), classes="dialog-text", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)


class EmailLogScreen(MailstageScreen[None]):
    TITLE = "Email log"
    HELP = (
        "Every message the relay and Send test handled, newest first: when (UTC), the "
        "outcome (sent, refused for good, deferred: the app tries again, queued: the "
        "relay tries again, expired, deleted), stage, app, "
        "subject and who received it. / filters by app, s cycles the stage, o the outcome; "
        "Enter shows the highlighted record in full. New records appear as they come."
    )

    DEFAULT_CSS = """
    EmailLogScreen #log-filter { margin: 0 1; }
    EmailLogScreen #log-table { height: 1fr; margin: 0 1; }
    EmailLogScreen #log-status { padding: 0 1; height: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "slash,f",
            "focus_filter",
            "Filter app",
            id="email_log.filter",
            tooltip="Show only the records of apps whose name contains the text",
        ),
        Binding("s", "cycle_stage", "Stage", id="email_log.stage", tooltip="Next stage filter"),
        Binding(
            "o", "cycle_outcome", "Outcome", id="email_log.outcome", tooltip="Next outcome filter"
        ),
        Binding("r", "reload", "Reload", id="email_log.reload", tooltip="Read the log again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._app_filter = ""
        self._stage: str | None = None
        self._outcome: str | None = None
        self._all: list[LogRecord] = []
        self._shown: list[LogRecord] = []
        self._signature: object = None
        self._log: MailLog | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Input(placeholder="/ filter by app", id="log-filter")
        yield DataTable(id="log-table", cursor_type="row")
        yield Static("", id="log-status", markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        table = self.query_one("#log-table", DataTable)
        table.add_column("When (UTC)", key="when", width=19)
        table.add_column("Outcome", key="outcome", width=8)
        table.add_column("Stage", key="stage", width=11)
        table.add_column("App", key="app", width=12)
        table.add_column("Subject", key="subject", width=20)
        table.add_column("To", key="to")
        self._log = MailLog.of_store(self.workspace.file)
        self._read()
        table.focus()
        self.set_interval(FOLLOW_SECONDS, self._follow)

    # -- reading -----------------------------------------------------------------------

    def _file_signature(self) -> object:
        assert self._log is not None
        return self._log.signature()  # a file's stat, a table's newest id

    def _read(self) -> None:
        assert self._log is not None
        self._signature = self._file_signature()
        try:
            self._all = self._log.read()
        except (OSError, MailstageError) as exc:
            self._all = []
            self.query_one("#log-status", Static).update(f"Cannot read the email log: {exc}")
            return
        self._fill()

    def _follow(self) -> None:
        if self._file_signature() != self._signature:
            self._read()

    def _fill(self) -> None:
        table = self.query_one("#log-table", DataTable)
        keep = table.cursor_row
        table.clear()
        records = newest_first(self._all, stage=self._stage, outcome=self._outcome)
        if self._app_filter:
            records = [r for r in records if self._app_filter in (r.app or "").casefold()]
        self._shown = records[:SHOWN_LIMIT]
        for index, record in enumerate(self._shown):
            who = record.delivered_to or record.recipients
            to = ", ".join(who[:2]) + (f" +{len(who) - 2}" if len(who) > 2 else "")
            table.add_row(
                Text(record.time.replace("T", " ")[:19]),
                Text(record.outcome),
                Text(visible(record.stage)),
                Text(visible(record.app or "-")),
                Text(visible(record.subject)),
                Text(visible(to + (" (test list)" if record.redirected else ""))),
                key=str(index),
            )
        if self._shown:
            table.move_cursor(row=min(max(keep, 0), len(self._shown) - 1), animate=False)
        self.query_one("#log-status", Static).update(self._status(len(records)))

    def _status(self, matching: int) -> str:
        filters = [
            f"app ~ {visible(self._app_filter)}" if self._app_filter else "",
            f"stage {visible(self._stage)}" if self._stage else "",
            f"outcome {self._outcome}" if self._outcome else "",
        ]
        chosen = ", ".join(f for f in filters if f)
        if not self._all:
            return "No records yet: the relay and Send test write one for every message."
        text = f"{matching} of {len(self._all)} records" if chosen else f"{matching} records"
        return text + (f" ({chosen})" if chosen else "") + ", newest first; follows new ones."

    # -- actions -----------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        self._app_filter = event.value.strip().casefold()
        self._fill()

    def on_input_submitted(self) -> None:
        self.query_one("#log-table", DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(EmailRecordModal(self._shown[int(event.row_key.value)]))

    def action_focus_filter(self) -> None:
        self.query_one("#log-filter", Input).focus()

    def action_cycle_stage(self) -> None:
        names = [s.name for s in self.workspace.data.ordered_stages()]
        self._stage = _next(self._stage, names)
        self._fill()

    def action_cycle_outcome(self) -> None:
        self._outcome = _next(self._outcome, list(OUTCOMES))
        self._fill()

    def action_reload(self) -> None:
        self._read()


def _next(current: str | None, choices: list[str]) -> str | None:
    """None (all) -> first -> ... -> last -> None."""
    if current is None:
        return choices[0] if choices else None
    index = choices.index(current) if current in choices else len(choices) - 1
    return choices[index + 1] if index + 1 < len(choices) else None
