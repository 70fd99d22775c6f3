"""Log lines with nothing a terminal acts on (logging stays off the one-shot commands'
start-up: only the commands that log import this)."""

from __future__ import annotations

import logging

from mailstage.store.text import visible


class VisibleFormatter(logging.Formatter):
    """A log formatter whose every record is one line with nothing a terminal acts on:
    a newline or an ESC inside a logged value (a login name, a server reply) shows as
    an escape, so it can neither forge a log line nor drive the terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))
