"""Captured mail: the messages the capture server kept, and a viewer for one of them.

Everything shown comes from a message someone else wrote: it is displayed as plain
text (no markup), with control characters replaced, and never executed or rendered.
"""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path
from textwrap import wrap
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from mailstage.screens.base import MailstageScreen
from mailstage.screens.widgets import AppFooter, AppHeader, short_path
from mailstage.store.text import visible, when_text

MAX_BODY = 200_000
DATE_WIDTH = 16  # 2025-03-14 09:30
SHOWN_HEADERS = (
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "X-Mailstage-Original-Recipients",
    "X-Mailstage-Envelope-From",
    "X-Mailstage-Envelope-To",
)


def plain(text: object, *, keep_newlines: bool = False) -> str:
    """Text from a message made safe to show: no control or direction characters."""
    value = str(text).replace("\t", "    ")
    if not keep_newlines:
        value = " ".join(value.splitlines())
    return visible(value, multiline=keep_newlines)


def address_only(sender: str) -> str:
    """The sender's address without its display name (the detail line has both)."""
    return plain(parseaddr(sender)[1] or sender)


def folded(lines: list[str], width: int) -> str:
    """The lines cut into pieces of ``width`` (a long address is split, not cut off)."""
    pieces = (wrap(line, width, break_on_hyphens=False) or [""] for line in lines)
    return "\n".join(piece for line in pieces for piece in line)


def list_messages(folder: Path) -> list[Any]:
    """The messages in the folder, newest first."""
    if not folder.is_dir():
        return []
    from mailstage.mailer.capture import list_captured

    return list_captured(folder)


def date_text(date: datetime | None) -> str:
    return when_text(date)


def read_message(path: Path) -> EmailMessage:
    with path.open("rb") as file:
        return BytesParser(policy=policy.default).parse(file)


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        kinds = sorted({p.get_content_type() for p in message.walk() if not p.is_multipart()})
        return f"(no text/plain part; parts: {', '.join(kinds) or 'none'})"
    try:
        content = part.get_content()
    except (LookupError, ValueError) as exc:
        return f"(the text part cannot be decoded: {type(exc).__name__})"
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    if len(text) > MAX_BODY:
        text = text[:MAX_BODY] + f"\n\n(... {len(text) - MAX_BODY} more characters not shown)"
    return text


class MessageViewerScreen(MailstageScreen[None]):
    """One captured message: its headers and its text body, as plain text."""

    TITLE = "Captured message"
    HELP = (
        "A captured message: the main headers, then the text body. Arrows and Page "
        "Up/Down scroll; Esc goes back to the list."
    )

    DEFAULT_CSS = """
    MessageViewerScreen #viewer { height: 1fr; padding: 0 1; }
    MessageViewerScreen #viewer-headers { text-style: bold; margin-bottom: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="viewer.back", tooltip="Back to the list"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    @property
    def crumb(self) -> str:
        return f"Captured mail › {self.path.name}"

    def compose(self) -> ComposeResult:
        try:
            message = read_message(self.path)
        except OSError as exc:
            headers = f"Cannot read {self.path.name}: {exc.strerror or exc}"
            body = ""
        else:
            lines = []
            for name in SHOWN_HEADERS:
                for value in message.get_all(name, []):
                    lines.append(f"{name}: {plain(value)}")
            headers = "\n".join(lines) or "(no headers)"
            body = plain(text_body(message), keep_newlines=True)
        yield AppHeader()
        with VerticalScroll(id="viewer"):
            yield Static(headers, id="viewer-headers", markup=False)
            yield Static(body, id="viewer-body", markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one("#viewer", VerticalScroll).focus()

    def action_back(self) -> None:
        self.dismiss(None)


class CapturedMailScreen(MailstageScreen[None]):
    """The capture folder's messages, newest first."""

    TITLE = "Captured mail"
    HELP = (
        "The messages the capture server (mailstage sink) kept, newest first: from, to, "
        "subject and date. Enter opens the highlighted message; r reads the folder again."
    )

    DEFAULT_CSS = """
    CapturedMailScreen #captured-folder { padding: 0 1; height: auto; }
    CapturedMailScreen #captured-table { height: 1fr; margin: 0 1; }
    CapturedMailScreen #captured-status { padding: 0 1; height: 1; }
    CapturedMailScreen #captured-detail { padding: 0 1; height: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "r", "refresh_list", "Refresh", id="captured.refresh", tooltip="Read the folder again"
        ),
    ]

    def __init__(self, folder: Path | str | None) -> None:
        super().__init__()
        self.folder = Path(folder) if folder is not None else None
        self._paths: list[Path] = []
        self._who: list[str] = []
        self._shown_widths = (0, 0)

    def compose(self) -> ComposeResult:
        yield AppHeader()
        shown = short_path(self.folder) if self.folder else "(no capture folder set)"
        yield Static(f"Folder: {shown}", id="captured-folder", markup=False)
        yield DataTable(id="captured-table", cursor_type="row")
        yield Static("", id="captured-detail", markup=False)
        yield Static("", id="captured-status", markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        self._fill()
        self.query_one("#captured-table", DataTable).focus()

    def on_resize(self) -> None:
        if self._widths() != self._shown_widths:
            self._fill()

    def _widths(self) -> tuple[int, int]:
        """(From → To, Subject): the terminal's width less the date, the margins, a
        scrollbar and the cells' padding; the subject takes two fifths of what is left."""
        room = max(self.app.size.width - 10 - DATE_WIDTH, 30)
        subject = max(room * 2 // 5, 12)
        return room - subject, subject

    def _fill(self) -> None:
        table = self.query_one("#captured-table", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        who_width, subject_width = self._shown_widths = self._widths()
        table.add_column("Date (UTC)", key="date", width=DATE_WIDTH)
        table.add_column("From → To", key="who", width=who_width)
        table.add_column("Subject", key="subject", width=subject_width)
        try:
            mails = list_messages(self.folder) if self.folder else []
        except OSError as exc:
            mails = []
            self.notify(f"Cannot read the folder: {exc.strerror or exc}", markup=False)
        self._paths = [mail.path for mail in mails]
        # the highlighted message's full From and To (the columns cut long addresses)
        self._who = [
            f"From: {plain(mail.sender)}\nTo: {plain(', '.join(mail.recipients))}" for mail in mails
        ]
        for index, mail in enumerate(mails):
            # whole addresses, one a line, folded when longer than the column: never cut
            who = [address_only(mail.sender)] + [f"→ {plain(to)}" for to in mail.recipients]
            table.add_row(
                Text(date_text(mail.date)),
                Text(folded(who, who_width)),
                Text(plain(mail.subject), overflow="fold"),
                key=str(index),
                height=None,
            )
        if mails:
            table.move_cursor(row=min(cursor, len(mails) - 1))
        count = len(mails)
        status = (
            f"{count} message{'s' if count != 1 else ''}, newest first. Enter opens one."
            if count
            else "No captured messages yet: send a test through a stage that uses the "
            "capture server."
        )
        self.query_one("#captured-status", Static).update(status)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        index = int(event.row_key.value) if event.row_key.value is not None else -1
        shown = self._who[index] if 0 <= index < len(self._who) else ""
        self.query_one("#captured-detail", Static).update(shown)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.push_screen(MessageViewerScreen(self._paths[int(event.row_key.value)]))

    def action_refresh_list(self) -> None:
        self._fill()
