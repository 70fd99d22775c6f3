"""F1: help for the screen that was focused, with its keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

GENERAL = (
    "Everywhere: F1 help · Esc back · q or Ctrl+Q quit · Ctrl+P command palette "
    "(jump to a stage or an app, send test, lock) · Tab / Shift+Tab move between fields."
)


def describe_keys(screen: Screen[object]) -> list[str]:
    lines = []
    seen: set[str] = set()
    for binding in getattr(type(screen), "BINDINGS", []):
        key, description = _key_and_description(binding)
        if description and key not in seen:
            seen.add(key)
            lines.append(f"  {key:<10} {description}")
    return lines


def _key_and_description(binding: object) -> tuple[str, str]:
    from textual.binding import Binding as B

    if isinstance(binding, B):
        text = binding.tooltip or binding.description
        return binding.key.split(",")[0], text
    if isinstance(binding, tuple) and len(binding) >= 3:
        return str(binding[0]), str(binding[2])
    return "", ""


class HelpScreen(ModalScreen[None]):
    TITLE = "Help"
    HELP = "This help. Esc or F1 closes it."
    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close", tooltip="Close the help"),
        Binding("f1", "close", "Close", show=False, id="help.close_f1", tooltip="Close the help"),
    ]

    def __init__(self, for_screen: Screen[object]) -> None:
        super().__init__()
        self.for_screen = for_screen

    def compose(self) -> ComposeResult:
        title = getattr(self.for_screen, "TITLE", None) or "mailstage"
        text = getattr(self.for_screen, "HELP", None) or (self.for_screen.__doc__ or "").strip()
        keys = describe_keys(self.for_screen)
        with Vertical(classes="dialog", id="help"):
            yield Static(f"Help: {title}", classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-body"):
                yield Static(text, classes="dialog-text", markup=False)
                if keys:
                    yield Static("Keys on this screen:\n" + "\n".join(keys), markup=False)
                yield Static("\n" + GENERAL, classes="muted", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
