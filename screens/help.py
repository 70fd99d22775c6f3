"""F1: help for the screen that was focused, built from the keys active there right now.

The keys come from Textual's active bindings of that screen (its focused widget, the
screen, the App), after the user's keymap and each screen's ``check_action``: a key that
is hidden because the action is not possible (no capture folder, a read-only user) is
not listed, and a remapped key shows its new name.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from mailstage.screens.base import MailstageModal, MailstageScreen

GENERAL = (
    "Everywhere: Ctrl+P opens the command palette (every screen, toggle a test list, "
    "send a test, lock); Tab / Shift+Tab move between fields; j/k or the arrows move "
    "in lists."
)


class KeyHelp(NamedTuple):
    keys: str
    text: str
    binding_id: str


def active_keys(screen: Screen[object]) -> list[KeyHelp]:
    """The keys that do something on ``screen`` now, one line per action, in the
    order the screen's focus chain gives them (focused widget first, App last)."""
    found: dict[tuple[int, str], KeyHelp] = {}  # one line per binding id
    shown_keys: dict[tuple[int, str], list[str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.id or not active.enabled:
            continue
        text = binding.tooltip or binding.description
        if not text:
            continue
        shown = screen.app.get_key_display(_with_key(binding, key))
        slot = (id(active.node), binding.id)
        if slot not in found:
            found[slot] = KeyHelp(shown, text, binding.id)
            shown_keys[slot] = [shown]
        elif shown not in shown_keys[slot]:
            # "or", not a slash: a slash is itself a key ("/ or f")
            shown_keys[slot].append(shown)
            found[slot] = found[slot]._replace(keys=" or ".join(shown_keys[slot]))
    return list(found.values())


def _with_key(binding: Binding, key: str) -> Binding:
    return Binding(key, binding.action, binding.description, key_display=binding.key_display)


def keys_table(keys: list[KeyHelp]) -> Table:
    table = Table(box=None, show_header=True, pad_edge=False, expand=True)
    table.add_column("Key", no_wrap=True)
    table.add_column("What it does", ratio=1)
    table.add_column("Keymap id", no_wrap=True, style="dim")
    for item in keys:
        table.add_row(item.keys, item.text, item.binding_id)
    return table


class HelpScreen(MailstageModal[None]):
    TITLE = "Help"
    HELP = "This help. Esc or F1 closes it."
    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close", tooltip="Close the help"),
        Binding("f1", "close", "Close", show=False, id="help.close_f1", tooltip="Close the help"),
    ]

    def __init__(self, for_screen: Screen[object], *, keymap_note: str = "") -> None:
        super().__init__()
        self.for_screen = for_screen
        self.keys = active_keys(for_screen)
        self.keymap_note = keymap_note

    def compose(self) -> ComposeResult:
        screen = self.for_screen
        title = screen.TITLE or "mailstage"
        text = screen.HELP if isinstance(screen, MailstageScreen) else ""
        text = text or (screen.__doc__ or "").strip()
        with Vertical(classes="dialog", id="help"):
            yield Static(f"Help: {title}", classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body", id="help-body"):
                yield Static(text, classes="dialog-text", markup=False)
                if self.keys:
                    yield Static("Keys on this screen now:", classes="section-title")
                    yield Static(keys_table(self.keys), id="help-keys")
                yield Static("\n" + GENERAL, classes="muted", markup=False)
                if self.keymap_note:
                    yield Static(self.keymap_note, classes="muted", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
