"""What the TUI prints when it stops on an unexpected error.

Never a traceback with local variables (Textual's default): a Workspace or StoreData in
a local prints the store's addresses, names and members. The report names the error's
type and the innermost mailstage line; MAILSTAGE_DEBUG=1 adds the traceback, still
without locals. Exception messages are left out too: they can quote stored values.
"""

from __future__ import annotations

import os
import sys
import traceback
from types import TracebackType

from rich.console import Group, RenderableType
from rich.text import Text


def crash_report() -> RenderableType:
    kind, error, trace = sys.exc_info()
    name = kind.__name__ if kind is not None else "error"
    where = _innermost_own_frame(trace)
    sentence = Text(
        f"mailstage stopped on an unexpected error ({name}{where}). Saved changes are in "
        f"the store; a change that was not saved yet was not written. Set MAILSTAGE_DEBUG=1 "
        f"to see the traceback (without local variables)."
    )
    if not os.environ.get("MAILSTAGE_DEBUG") or error is None:
        return sentence
    from rich.traceback import Traceback

    return Group(sentence, Traceback(show_locals=False, width=None))


def _innermost_own_frame(trace: TracebackType | None) -> str:
    own = [
        frame
        for frame in traceback.extract_tb(trace)
        if f"{os.sep}mailstage{os.sep}" in frame.filename
        or any(f"{os.sep}{part}{os.sep}" in frame.filename for part in PACKAGE_FOLDERS)
    ]
    if not own:
        return ""
    frame = own[-1]
    return f" in {os.path.basename(frame.filename)}:{frame.lineno}"


PACKAGE_FOLDERS = ("store", "mailer", "screens", "tui", "cli")
