"""Event lines for things that come in bursts (failed logins, refused connections):
the first of a burst is told at once, the rest are counted and told in one line when
the window closes, so a flood writes a few lines, never one per try."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from mailstage.relay.events import EventLog

WINDOW_SECONDS = 60.0


class BurstNotice:
    def __init__(self, events: EventLog, window: float = WINDOW_SECONDS) -> None:
        self.events = events
        self.window = window
        self._until: dict[str, float] = {}
        self._more: dict[str, int] = {}

    def note(self, key: str, first: str, more: Callable[[int], str]) -> None:
        """``first`` when no burst of ``key`` is open; else counted, and ``more(count)``
        is told when the window closes."""
        now = time.monotonic()
        if now < self._until.get(key, 0.0):
            self._more[key] = self._more.get(key, 0) + 1
            return
        self._until[key] = now + self.window
        self.events.event(first)
        asyncio.get_running_loop().call_later(self.window, self._close, key, more)

    def _close(self, key: str, more: Callable[[int], str]) -> None:
        self._until.pop(key, None)
        count = self._more.pop(key, 0)
        if count:
            self.events.event(more(count))
