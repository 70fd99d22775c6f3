"""Did you mean, for a mistyped command or action: `mailstage stag list` answers
"invalid choice: 'stag' (choose from ...). Did you mean 'stage'?". argparse (3.11) has no
such hint; every parser of the command line gets one without changing how the parser is
built (one call at its end), whatever the parser class."""

from __future__ import annotations

import argparse
from typing import Any

from mailstage.store.suggest import did_you_mean


def _check_value_with_hint(action: argparse.Action, value: Any) -> None:
    """argparse's own choice check, with the closest choice named."""
    choices = action.choices
    if choices is None or value in choices:
        return
    listed = ", ".join(repr(choice) for choice in choices)
    hint = did_you_mean(value, [str(c) for c in choices]) if isinstance(value, str) else ""
    raise argparse.ArgumentError(action, f"invalid choice: {value!r} (choose from {listed}).{hint}")


def suggest_choices(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and every subparser the hint (argparse calls ``_check_value`` on
    the parser instance; it has no public hook for the message)."""
    setattr(parser, "_check_value", _check_value_with_hint)  # noqa: B010 - an instance hook
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                suggest_choices(sub)
