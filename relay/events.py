"""The relay's event lines on stderr: one line per event, UTC time first, control
characters made visible, never a body, a password or a token."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from mailstage.store.text import visible


class EventLog:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._second = -1  # the stamp is made once a second (a line a message)
        self._stamp = ""

    def event(self, text: str) -> None:
        now = time.time()
        if int(now) != self._second:
            self._second = int(now)
            self._stamp = datetime.fromtimestamp(self._second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        stamp = self._stamp
        try:
            self.stream.write(f"{stamp} {visible(text)}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must not stop the relay
