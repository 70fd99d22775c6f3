"""Shared widgets: the header line, secret inputs, fields with inline errors, dialogs.

Every screen of mailstage composes ``AppHeader()`` at the top and ``AppFooter()`` at the
bottom; dialogs are pushed with ``push_screen(..., callback)`` and return plain values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Footer, Input, Label, Static

from mailstage.screens.base import Host, MailstageModal, MailstageScreen
from mailstage.store.text import visible

if TYPE_CHECKING:
    from textual.widgets import DataTable

MASK = "********"


def short_path(path: Path | str) -> str:
    """A path for display: the home folder shown as ~."""
    text = str(path)
    home = str(Path.home())
    if home not in ("", "/") and (text == home or text.startswith(home + "/")):
        return "~" + text[len(home) :]
    return text


class AppHeader(Vertical):
    """Two lines: where you are (and a PRODUCTION badge on a production stage's
    screens), and who you are in which store."""

    DEFAULT_CSS = """
    AppHeader { height: 2; dock: top; background: $panel; }
    AppHeader > .header-top { height: 1; }
    AppHeader .crumb { text-style: bold; width: 1fr; height: 1; padding: 0 1;
        text-wrap: nowrap; text-overflow: ellipsis; }
    AppHeader .badge { width: auto; height: 1; padding: 0 1; display: none;
        text-style: bold reverse; color: $error; }
    AppHeader.-production { background: $error 30%; }
    AppHeader.-production .badge { display: block; }
    AppHeader > .who { width: 1fr; height: 1; padding: 0 1; color: $text-muted;
        text-wrap: nowrap; text-overflow: ellipsis; }
    """

    BADGE = "▲ PRODUCTION"

    def __init__(self, crumb: str = "") -> None:
        super().__init__()
        self._crumb = crumb

    def compose(self) -> ComposeResult:
        with Horizontal(classes="header-top"):
            yield Static(self._crumb_text(), classes="crumb", markup=False)
            yield Static(self.BADGE, classes="badge", markup=False)
        yield Static(self._who_text(), classes="who", markup=False)

    def on_mount(self) -> None:
        self.refresh_production()

    def _crumb_text(self) -> str:
        crumb = self._crumb
        screen = self.screen if self.is_attached else None
        if not crumb and isinstance(screen, MailstageScreen):
            crumb = screen.crumb
        return f"mailstage › {crumb}" if crumb else "mailstage"

    def _who_text(self) -> str:
        """Who, in which role, in which store. When the line does not fit, the path
        loses its start (its end names the store), then the role goes (F1 and Members
        show it) so that the store's path stays readable."""
        text = cast(Host, self.app).who_line()
        parts = text.split(" · ")
        room = self.size.width - 2 if self.size.width else 10_000
        if len(text) <= room or len(parts) != 3:
            return text
        user, role, path = parts
        for head in (f"{user} · {role} · ", f"{user} · "):
            left = room - len(head)
            if left >= min(len(path), 24):
                return head + (path if len(path) <= left else "…" + path[-(left - 1) :])
        return f"{user} · {path}"

    def on_resize(self) -> None:
        self.refresh_who()

    def set_crumb(self, crumb: str) -> None:
        self._crumb = crumb
        if self.is_mounted:
            self.query_one(".crumb", Static).update(self._crumb_text())

    def refresh_who(self) -> None:
        if self.is_mounted:
            self.query_one(".who", Static).update(self._who_text())
            self.refresh_production()

    def refresh_production(self) -> None:
        """Show the badge while the screen is about a production stage."""
        screen = self.screen
        production = isinstance(screen, MailstageScreen) and screen.production_stage is not None
        self.set_class(production, "-production")


class AppFooter(Footer):
    """The footer of every screen: the keys that work here, nothing else. The command
    palette's key is named on Home and in F1, leaving the footer's room for the
    screen's own keys at 80 columns and less."""

    def __init__(self, *, show_palette: bool = False) -> None:
        super().__init__(show_command_palette=show_palette)


class SecretInput(Input):
    """A password input whose value never reaches the clipboard (copy/cut do nothing)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("password", True)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def action_copy(self) -> None:
        self.app.bell()

    def action_cut(self) -> None:
        self.app.bell()


class ExampleInput(Input):
    """An input whose placeholder is the longest of its examples that fits the box: a
    longer one wraps, and the box shows its first words only (a bare "e.g.")."""

    def __init__(self, value: str = "", *, examples: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(value, placeholder=examples[0], **kwargs)
        self.examples = examples

    def on_resize(self) -> None:
        room = self.scrollable_content_region.width
        self.placeholder = next((e for e in self.examples if len(e) <= room), self.examples[-1])


class TickBox(Checkbox):
    """A checkbox whose box holds an X only while on. Textual's draws the X either way
    and tells on from off by colour alone, which NO_COLOR and 8 colours lose."""

    BUTTON_INNER = " "

    def watch_value(self) -> None:
        self.BUTTON_INNER = "X" if self.value else " "
        super().watch_value()
        self.refresh()


MANDATORY_MARK = " *"


class Field(Vertical):
    """One form row: a label and its input widget, and the inline error under them.
    A mandatory field's label ends in `` *``, as the portal marks it (no colour needed)."""

    DEFAULT_CSS = """
    Field { height: auto; }
    Field > .field-row { height: auto; }
    Field > .field-row > .field-label { width: 22; height: 1; padding: 0 1 0 0; }
    Field > .field-row > .field-input { width: 1fr; }
    Field > .field-error { height: auto; color: $error; display: none; padding: 0 0 0 22; }
    Field.-invalid > .field-error { display: block; }
    Field > .field-note { height: auto; color: $text-muted; display: none; padding: 0 0 0 22; }
    Field.-noted > .field-note { display: block; }
    """

    def __init__(
        self, label: str, widget: Widget, *, id: str | None = None, mandatory: bool = False
    ) -> None:
        super().__init__(id=id)
        self.mandatory = mandatory
        self.label_text = label + MANDATORY_MARK if mandatory else label
        self.widget = widget
        widget.add_class("field-input")

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self.label_text, classes="field-label", markup=False)
            yield self.widget
        yield Static("", classes="field-error", markup=False)
        yield Static("", classes="field-note", markup=False)

    # the label shows the focus (tui/app.tcss); a class, since Textual does not restyle
    # the label when focus leaves a :focus-within parent
    def on_descendant_focus(self) -> None:
        self.add_class("-focused")

    def on_descendant_blur(self) -> None:
        self.set_class(self.has_focus_within, "-focused")

    @property
    def error(self) -> str:
        if not self.is_mounted or not self.has_class("-invalid"):
            return ""
        return str(self.query_one(".field-error", Static).content)

    def set_error(self, text: str | None) -> None:
        self.query_one(".field-error", Static).update(f"✗ {text}" if text else "")
        self.set_class(bool(text), "-invalid")

    def set_note(self, text: str | None) -> None:
        self.query_one(".field-note", Static).update(text or "")
        self.set_class(bool(text), "-noted")


class ConfirmModal(MailstageModal[bool]):
    """A question answered with y / n (or Enter on the focused button); Esc is no."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Answer yes"),
        Binding("n", "answer(False)", "No", id="confirm.no", tooltip="Answer no"),
        Binding("escape", "answer(False)", "No", id="confirm.escape", tooltip="Answer no"),
    ]
    HELP = "Answer the question: y for yes, n or Esc for no."

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no
        self._bindings = self._worded_bindings()

    def _worded_bindings(self) -> BindingsMap:
        """The footer says what the buttons say ("y Remove  n Keep"), not a bare Yes / No."""
        words = {"confirm.yes": self.yes, "confirm.no": self.no, "confirm.escape": self.no}
        return BindingsMap.from_keys(
            {
                key: [replace(b, description=words.get(b.id or "", b.description)) for b in found]
                for key, found in self._bindings.key_to_bindings.items()
            }
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="warning")
                yield Button(f"{self.no} (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class MessageDialog(MailstageModal[str]):
    """An error or a notice. Returns "close", or "reload" when Reload was chosen."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="dialog.close", tooltip="Close this message"),
        Binding("r", "reload", "Reload", id="dialog.reload", tooltip="Reload the store"),
    ]
    HELP = "Read the message; Enter or Esc closes it. When offered, r reloads the store."

    def __init__(self, title: str, message: str, *, offer_reload: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.offer_reload = offer_reload

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(visible(self.title_text), classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(
                    visible(self.message, multiline=True), classes="dialog-text", markup=False
                )
            with Horizontal(classes="dialog-buttons"):
                if self.offer_reload:
                    yield Button("Reload (r)", id="reload", variant="primary")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        self.query_one("#reload" if self.offer_reload else "#close", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reload":
            return self.offer_reload
        return True

    def action_close(self) -> None:
        self.dismiss("close")

    def action_reload(self) -> None:
        self.dismiss("reload")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "close")


def confirm(widget: Widget, question: str, then: Callable[[], object], *, yes: str = "Yes") -> None:
    """Ask, and call ``then`` only on yes."""

    def answered(ok: bool | None) -> None:
        if ok:
            then()

    widget.app.push_screen(ConfirmModal(question, yes=yes), answered)


def highlighted_row_key(table: DataTable[Any]) -> str | None:
    """The key of the row under the table's cursor, or None when there is none."""
    from textual.widgets.data_table import CellDoesNotExist  # not on the start-up path

    if table.row_count == 0:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except CellDoesNotExist:
        return None


class ReadOnlyNote(Static):
    """ "Read-only." and the sentence naming the missing permission; hidden when the
    user has it (``sentence`` is None)."""

    def __init__(self, sentence: str | None, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(
            f"Read-only. {sentence}" if sentence else "",
            id=id,
            classes="readonly-note",
            markup=False,
        )
        self.display = bool(sentence)
