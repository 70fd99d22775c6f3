"""The test-list editor of one app in one stage (App > Configuration > Emails > Test list).

Add addresses (one or many pasted at once), remove the highlighted one, filter, toggle
**Active** and save. The list is a virtual widget: filtering 10,000 addresses only
recomputes a list of strings and repaints the visible lines, it never builds widgets.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Label, Static, Switch

from mailstage.screens.base import MailstageScreen, stage_if_production
from mailstage.screens.list_labels import count_text, held_sentence
from mailstage.screens.widgets import AppFooter, AppHeader, ConfirmModal, ReadOnlyNote
from mailstage.store import validation as rules
from mailstage.store.drafts import TestListDraft
from mailstage.store.errors import MailstageError
from mailstage.store.models import Permission, Stage
from mailstage.store.paste import addresses_from_paste

PRODUCTION_WARNING = (
    "Production stage: while this test list is active, real users receive nothing; "
    "every email goes to these addresses only."
)


def duplicates_dropped(valid: list[str], added: list[str], *, repeated: int) -> str:
    """The sentence naming the duplicates an addition dropped: those already in the list
    (named, up to three) and how many the paste itself repeated; "" when none."""
    new = {a.casefold() for a in added}
    present = [a for a in valid if a.casefold() not in new]
    parts = []
    if present:
        names = ", ".join(present[:3]) + (
            f" and {len(present) - 3} more" if len(present) > 3 else ""
        )
        parts.append(f"already in the list: {names}")
    if repeated:
        parts.append(f"{count_text(repeated, 'address')} repeated in what was pasted")
    if not parts:
        return ""
    return f"Duplicates dropped ({'; '.join(parts)})."


class AddressInput(Input):
    """An Input that keeps every line of a paste (Input keeps only the first one)."""

    def _on_paste(self, event: events.Paste) -> None:
        if event.text:
            text = ", ".join(part.strip() for part in event.text.splitlines() if part.strip())
            selection = self.selection
            if selection.is_empty:
                self.insert_text_at_cursor(text)
            else:
                self.replace(text, *selection)
        event.stop()
        event.prevent_default()  # Input's own handler would paste the first line again


class AddressList(Widget, can_focus=True):
    """A virtual list of strings with a cursor: renders only the visible lines.

    It scrolls by itself (a top index and a one-column scroll bar drawn in the last
    column) so that showing another list only repaints it: no layout, no widgets made.
    """

    DEFAULT_CSS = """
    AddressList { height: 1fr; border: round $primary-muted; }
    AddressList:focus { border: round $primary; }
    AddressList > .address-list--cursor { text-style: reverse; }
    AddressList > .address-list--empty { text-style: italic; }
    AddressList > .address-list--bar { color: $text-muted; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "address-list--cursor",
        "address-list--empty",
        "address-list--bar",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up", "cursor_up", "Up", show=False, id="address_list.up", tooltip="Previous address"
        ),
        Binding(
            "down",
            "cursor_down",
            "Down",
            show=False,
            id="address_list.down",
            tooltip="Next address",
        ),
        Binding(
            "pageup",
            "page_up",
            "Page up",
            show=False,
            id="address_list.page_up",
            tooltip="A page up",
        ),
        Binding(
            "pagedown",
            "page_down",
            "Page down",
            show=False,
            id="address_list.page_down",
            tooltip="A page down",
        ),
        Binding(
            "home", "first", "First", show=False, id="address_list.first", tooltip="First address"
        ),
        Binding("end", "last", "Last", show=False, id="address_list.last", tooltip="Last address"),
    ]

    def __init__(
        self, empty_text: str = "", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.items: list[str] = []
        self.empty_text = empty_text
        self._cursor = 0
        self.top = 0

    # -- data ----------------------------------------------------------------------

    def set_items(self, items: list[str], keep: str | None = None) -> None:
        """Show these strings; keep the cursor on `keep` when it is still shown."""
        self.items = items
        index = 0
        if keep is not None:
            try:
                index = items.index(keep)
            except ValueError:
                index = self._cursor
        self.move_to(index)
        self.refresh()

    @property
    def highlighted(self) -> str | None:
        if 0 <= self._cursor < len(self.items):
            return self.items[self._cursor]
        return None

    # -- cursor and scrolling ------------------------------------------------------

    @property
    def cursor(self) -> int:
        return self._cursor

    @cursor.setter
    def cursor(self, value: int) -> None:
        self.move_to(value)

    @property
    def page(self) -> int:
        return max(self.content_region.height, 1)

    def move_to(self, index: int) -> None:
        count = len(self.items)
        index = max(0, min(index, count - 1)) if count else 0
        self._cursor = index
        page = self.page
        if index < self.top:
            self.top = index
        elif index >= self.top + page:
            self.top = index - page + 1
        self.top = max(0, min(self.top, count - page))
        self.refresh()

    def on_resize(self) -> None:
        self.move_to(self._cursor)

    def action_cursor_up(self) -> None:
        self.move_to(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_to(self._cursor + 1)

    def action_page_up(self) -> None:
        self.move_to(self._cursor - max(self.page - 1, 1))

    def action_page_down(self) -> None:
        self.move_to(self._cursor + max(self.page - 1, 1))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.items) - 1)

    async def _on_click(self, event: events.Click) -> None:
        self.move_to(self.top + event.y)

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.top = max(0, min(self.top + 3, len(self.items) - self.page))
        self.refresh()
        event.stop()

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.top = max(0, self.top - 3)
        self.refresh()
        event.stop()

    # -- rendering -------------------------------------------------------------------

    def _bar(self, y: int) -> str | None:
        """The scroll-bar cell of line y, or None when everything fits."""
        count, page = len(self.items), self.page
        if count <= page:
            return None
        thumb = max(1, page * page // count)
        start = (page - thumb) * self.top // max(count - page, 1)
        return "█" if start <= y < start + thumb else "│"

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        base = self.rich_style
        if not self.items:
            if y == 0 and self.empty_text:
                style = base + self.get_component_rich_style("address-list--empty")
                return Strip([Segment(self.empty_text, style)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        bar = self._bar(y)
        text_width = width - 1 if bar else width
        index = self.top + y
        if index < len(self.items):
            selected = index == self._cursor
            text = ("> " if selected else "  ") + self.items[index]
            if len(text) > text_width:
                text = text[: max(text_width - 1, 0)] + "…"
            style = base
            if selected:
                style = base + self.get_component_rich_style("address-list--cursor")
            strip = Strip([Segment(text, style)]).crop_extend(0, text_width, style)
        else:
            strip = Strip.blank(text_width, base)
        if bar:
            bar_style = base + self.get_component_rich_style("address-list--bar")
            strip = Strip.join([strip, Strip([Segment(bar, bar_style)], 1)])
        return strip


class EditorList(AddressList):
    """The editor's list: its keys act on the editor (shown only while it has focus)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "d,delete",  # the footer names the first: "d" leaves room for f1 Help at 80
            "screen.remove",
            "Remove",
            id="test_list.remove",
            tooltip="Remove the highlighted address",
        ),
        Binding("a", "screen.focus_add", "Add", id="test_list.focus_add", tooltip="Add addresses"),
        Binding(
            "slash,f",
            "screen.focus_filter",
            "Filter",
            id="test_list.focus_filter",
            tooltip="Filter the addresses",
        ),
    ]


class TestListEditorScreen(MailstageScreen[None]):
    """Edit the test list of `app_name` in `stage_name`; nothing is saved until Save."""

    __test__ = False  # not a pytest class
    Q_IS_TEXT = True  # q is a letter here; ctrl+q quits (asking first)

    TITLE = "Test list"
    HELP = (
        "The test list of one app in one stage. While it is active, every email the app "
        "sends in this stage goes to these addresses only. Type or paste addresses in Add "
        "(separated by commas, spaces or new lines) and press Enter: invalid ones are named "
        "and left in the box, duplicates are ignored. In the list: arrows move, d or Delete "
        "removes, / filters, a goes back to Add. F3 switches Active, F2 saves, F4 sends a "
        "test to the list. Esc goes back and asks before discarding unsaved changes."
    )

    DEFAULT_CSS = """
    TestListEditorScreen { layout: vertical; }
    TestListEditorScreen #editor-warning { padding: 0 1; text-style: bold; height: auto; }
    TestListEditorScreen .row { height: 3; }
    TestListEditorScreen .row > Label { width: 8; padding: 1 0 0 1; }
    TestListEditorScreen #editor-add { width: 1fr; }
    TestListEditorScreen #editor-filter { width: 1fr; }
    TestListEditorScreen .row > #editor-active-label { width: 13; }
    TestListEditorScreen #editor-problems { padding: 0 1; height: auto; max-height: 3; }
    TestListEditorScreen #editor-status { padding: 0 1; height: 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "save", "Save", id="test_list.save", tooltip="Save the test list"),
        Binding(
            "f3",
            "toggle_active",
            "Active",
            id="test_list.toggle_active",
            tooltip="Switch the test list on or off (saved with F2)",
        ),
        Binding(
            "f4",
            "send_test",
            "Send test",
            id="test_list.send_test",
            tooltip="Send a test email to the addresses of this list",
        ),
        Binding(
            "escape",
            "back",
            "Back",
            id="test_list.back",
            tooltip="Go back (asks before discarding unsaved changes)",
        ),
    ]

    def __init__(self, app_name: str, stage_name: str) -> None:
        super().__init__()
        self.app_name = app_name
        self.stage_name = stage_name
        self.production = False
        self.draft = TestListDraft([], False)
        self._filter = ""
        self._loading = False
        self._held_confirmed = False  # the admin said yes to an active, empty list
        self._shown_status = ""
        self._shown_active: bool | None = None

    @property
    def production_stage(self) -> Stage | None:
        return stage_if_production(self.host, self.stage_name)

    @property
    def crumb(self) -> str:
        kind = ""
        if self.production and "production" not in self.stage_name.casefold():
            kind = " (production)"
        return f"Apps › {self.app_name} › Test list › {self.stage_name}{kind}"

    # -- composition ---------------------------------------------------------------------

    @property
    def can_edit(self) -> bool:
        return self.workspace.can(Permission.MANAGE_TEST_LISTS)

    def compose(self) -> ComposeResult:
        workspace = self.workspace
        stage = workspace.data.stage(self.stage_name)
        app = workspace.data.app(self.app_name)
        if stage is not None:
            self.stage_name = stage.name
            self.production = stage.production
        if app is not None:
            self.app_name = app.name
        yield AppHeader()
        sentence = workspace.why_not(Permission.MANAGE_TEST_LISTS)
        yield ReadOnlyNote(sentence, id="editor-readonly")
        with Horizontal(classes="row"):
            yield Label("Add")
            yield AddressInput(
                placeholder="addresses (commas, spaces), Enter adds",
                id="editor-add",
                disabled=not self.can_edit,
            )
            yield Label("Active: off", id="editor-active-label")
            yield Switch(id="editor-active", disabled=not self.can_edit)
        yield Static("", id="editor-problems", markup=False)
        with Horizontal(classes="row"):
            yield Label("Filter")
            yield Input(placeholder="type to filter the list", id="editor-filter")
        empty = (
            "No addresses yet: type or paste them in Add."
            if self.can_edit
            else "No addresses in this test list."
        )
        yield EditorList(empty, id="editor-list")
        yield Static("", id="editor-warning", markup=False)
        yield Static("", id="editor-status", markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        self.load()
        if self.can_edit:
            self.query_one("#editor-add").focus()
        else:
            self.query_one(AddressList).focus()

    def _stored(self) -> tuple[list[str], bool]:
        app = self.workspace.data.app(self.app_name)
        current = app.test_list(self.stage_name) if app is not None else None
        if current is None:
            return [], False
        return list(current.addresses), current.active

    def load(self) -> None:
        addresses, active = self._stored()
        self.draft.reset(addresses, active)
        self._show_active()
        self._refresh_list()

    def _show_active(self) -> None:
        self._loading = True
        try:
            self.query_one("#editor-active", Switch).value = self.draft.active
        finally:
            self._loading = False

    def refresh_from_workspace(self) -> None:
        """After a reload: show the stored list; with unsaved edits, show the other admin's
        version with only your additions, removals and Active flip on top of it."""
        if not self.dirty:
            self.load()
            return
        self._rebase()

    def _rebase(self) -> None:
        added, removed = self.draft.diff()
        flipped = self.draft.active != self.draft.base_active
        addresses, active = self._stored()
        self.draft.rebase(addresses, active)
        self._show_active()
        mine = [f"{len(added)} added", f"{len(removed)} removed"]
        if flipped:
            mine.append("Active " + ("on" if self.draft.active else "off"))
        self.query_one("#editor-problems", Static).update(
            f"Another admin's version is shown ({len(addresses)} addresses, "
            f"{'active' if active else 'inactive'}) with your changes on top "
            f"({', '.join(mine)}). F2 saves."
        )
        self._refresh_list()

    # -- state ----------------------------------------------------------------------------

    @property
    def addresses(self) -> list[str]:
        return self.draft.addresses

    @property
    def active(self) -> bool:
        return self.draft.active

    @property
    def dirty(self) -> bool:
        return self.draft.dirty

    def has_unsaved_changes(self) -> bool:
        return self.dirty

    def _refresh_list(self, keep: str | None = None) -> None:
        shown = self.draft.filtered(self._filter)
        address_list = self.query_one(AddressList)
        if keep is None:
            keep = address_list.highlighted
        address_list.set_items(shown, keep=keep)
        self._update_status(len(shown))

    def _update_status(self, shown: int) -> None:
        total = len(self.addresses)
        parts = [f"{total} address{'es' if total != 1 else ''}"]
        if self._filter:
            parts.append(f"{shown} shown")
        parts.append("active" if self.active else "inactive")
        if self.dirty:
            parts.append("unsaved changes (F2 saves)")
        status = " · ".join(parts)
        if status != self._shown_status:  # fixed height: a repaint, not a layout
            self._shown_status = status
            self.query_one("#editor-status", Static).update(status, layout=False)
        if self.active != self._shown_active:
            self._shown_active = self.active
            label = "Active: on" if self.active else "Active: off"
            self.query_one("#editor-active-label", Label).update(label, layout=False)
            warning = self.query_one("#editor-warning", Static)
            warning.update(PRODUCTION_WARNING if self.production and self.active else "")
            warning.display = self.production and self.active

    # -- events ---------------------------------------------------------------------------

    @on(Input.Changed, "#editor-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = event.value.strip().casefold()
        self._refresh_list()

    @on(Input.Submitted, "#editor-filter")
    def _filter_submitted(self) -> None:
        self.query_one(AddressList).focus()

    @on(Input.Submitted, "#editor-add")
    def _add_submitted(self, event: Input.Submitted) -> None:
        self.add_text(event.value)

    @on(Switch.Changed, "#editor-active")
    def _switch_changed(self, event: Switch.Changed) -> None:
        if self._loading or event.value == self.active:
            return
        self.draft.active = event.value
        if self.active and self.production:
            self.notify(PRODUCTION_WARNING, severity="warning", markup=False)
        self._update_status(len(self.query_one(AddressList).items))

    def add_text(self, text: str) -> None:
        """Add every valid address in `text`; name the invalid ones, skip duplicates."""
        if not self.can_edit:
            return
        raw = addresses_from_paste(text)
        good, problems = rules.normalize_addresses(raw)
        added = self.draft.add(good)
        box = self.query_one("#editor-add", Input)
        if problems:
            box.value = " ".join(bad for bad, _ in problems)
            lines = [f"{bad!r} {why}" for bad, why in problems[:3]]
            if len(problems) > 3:
                lines.append(f"... and {len(problems) - 3} more invalid")
            message = "Not added: " + "; ".join(lines)
        else:
            box.value = ""
            message = ""
        notes = [f"Added {len(added)}."] if added else []
        if dropped := duplicates_dropped(
            good, added, repeated=len(raw) - len(problems) - len(good)
        ):
            notes.append(dropped)
        self.query_one("#editor-problems", Static).update(" ".join([*notes, message]).strip())
        self._refresh_list(keep=added[-1] if added else None)

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("save", "toggle_active", "remove", "focus_add") and not self.can_edit:
            return False  # not in the footer: the sentence at the top says why
        if action == "send_test":
            return self.may_send_test()
        return True

    def action_focus_add(self) -> None:
        self.query_one("#editor-add").focus()

    def action_focus_filter(self) -> None:
        self.query_one("#editor-filter").focus()

    def action_toggle_active(self) -> None:
        switch = self.query_one("#editor-active", Switch)
        switch.value = not switch.value

    def action_remove(self) -> None:
        address_list = self.query_one(AddressList)
        if self.focused is not address_list:
            return
        target = address_list.highlighted
        if target is None:
            return
        cursor = address_list.cursor
        self.draft.remove(target)
        self.query_one("#editor-problems", Static).update(f"Removed {target}.")
        self._refresh_list(keep="")
        address_list.cursor = cursor

    def action_save(self) -> bool:
        if not self.can_edit:
            return False
        if self._stored() != (self.draft.base, self.draft.base_active):
            # the store was read again meanwhile: never save over their version unseen
            self._rebase()
            self.notify(
                "Another admin saved this list meanwhile: yours is shown on top of theirs. "
                "Check it and press F2 again.",
                markup=False,
                severity="warning",
            )
            return False
        if self._holds_all_mail() and not self._held_confirmed:
            self._ask_before_holding()
            return False
        self._held_confirmed = False
        try:
            saved = self.workspace.save_test_list(
                self.app_name, self.stage_name, list(self.addresses), self.active
            )
        except MailstageError as exc:
            self.report_error(exc)
            return False
        self.draft.reset(saved.addresses, saved.active)
        self._refresh_list()
        # "Removed ...", "Added ...": about edits now saved, so no longer news
        self.query_one("#editor-problems", Static).update("")
        state = "active" if saved.active else "inactive"
        self.notify(
            f"Saved the test list of {self.app_name} in {self.stage_name} "
            f"({count_text(len(saved.addresses))}, {state}).",
            markup=False,
        )
        return True

    def _holds_all_mail(self) -> bool:
        """Saving would make the list active and empty, which it was not: all of the
        app's mail in the stage would then be held."""
        already = self.draft.base_active and not self.draft.base
        return self.active and not self.addresses and not already

    def _ask_before_holding(self) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._held_confirmed = True
                self.action_save()

        question = (
            f"Save the test list of {self.app_name} in {self.stage_name} active and empty?"
            f"\n\n{held_sentence(self.app_name, self.stage_name)}"
        )
        self.app.push_screen(ConfirmModal(question, yes="Save", no="Keep editing"), answered)

    def action_send_test(self) -> None:
        if self.dirty:
            self.notify("Sending to the list as shown (not saved yet).", markup=False)
        self.host.open_send_test(
            self.stage_name, app_name=self.app_name, recipients=list(self.addresses) or None
        )

    def action_back(self) -> None:
        box = self.query_one("#editor-filter", Input)
        if box.value:  # Esc clears the filter first
            box.value = ""
            self.query_one(EditorList).focus()
            return
        if not self.dirty:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmModal(
                "Discard the unsaved changes to this test list?", yes="Discard", no="Keep editing"
            ),
            answered,
        )
