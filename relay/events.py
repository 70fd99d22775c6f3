"""The relay's event lines on stderr: one line per event, UTC time first, control
characters made visible, never a body, a password or a token."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from mailstage.store.text import visible


class SecondStamp:
    """A text of the current second (UTC), made once a second: the relay writes one in
    an event line and one in a Date field for most messages."""

    def __init__(self, make: Callable[[datetime], str]) -> None:
        self._make = make
        self._second = -1
        self._text = ""

    def __call__(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second, self._text = second, self._make(datetime.fromtimestamp(second, UTC))
        return self._text


class EventLog:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._stamp = SecondStamp(lambda now: now.strftime("%Y-%m-%dT%H:%M:%SZ"))

    def event(self, text: str) -> None:
        stamp = self._stamp()
        try:
            self.stream.write(f"{stamp} {visible(text)}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must not stop the relay
