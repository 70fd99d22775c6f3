"""The relay's limits against floods: event lines for things that come in bursts
(failed logins, refused connections; the first of a burst is told at once, the rest
counted and told in one line when the window closes, so a flood writes a few lines,
never one per try), and the bound on messages held in memory at once."""

from __future__ import annotations

import asyncio
import collections
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


class Slot:
    """One message's place among the messages the relay holds in memory. The session
    that received it and the tasks still working on it each hold it; the place is
    free again when the last of them lets go."""

    def __init__(self, free: Callable[[], None]) -> None:
        self._free = free
        self._holders = 1

    def hold(self) -> None:
        self._holders += 1

    def drop(self) -> None:
        self._holders -= 1
        if self._holders == 0:
            self._free()


class MessageSlots:
    """At most ``size`` messages in the relay's memory at once (received in DATA and
    not yet answered, or still on their first attempt): the bound that keeps memory
    below a figure whatever number of apps send large messages at once. The app whose
    DATA finds every place taken waits for one, at most ``wait`` seconds, in turn."""

    def __init__(self, size: int, wait: float) -> None:
        self.size = size
        self.wait = wait
        self._free = size
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    def take_now(self) -> Slot | None:
        """A place if one is free and nobody waits for one, else None (no wait)."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return Slot(self._release)
        return None

    async def take(self) -> Slot | None:
        """A place, or None when none came free within ``wait`` seconds."""
        now = self.take_now()
        if now is not None:
            return now
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            async with asyncio.timeout(self.wait):
                await asyncio.shield(turn)
        except TimeoutError:
            if not turn.done():
                turn.cancel()
                return None
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # handed over as the session went: passed on
            turn.cancel()
            raise
        return Slot(self._release)

    def _release(self) -> None:
        """A place let go: handed to the longest waiter still waiting, else free."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
LARGE_BUFFER = 1024 * 1024


def return_large_buffers_to_the_system() -> None:
    """Ask glibc to give every buffer of 1 MiB or more its own mapping, returned to the
    system when freed. By default the threshold rises to the largest buffer freed so
    far (up to 32 MiB), after which large messages come from heaps that keep their
    memory: measured with two 25 MiB messages at a time, the peak RSS went from 4.6 to
    3.0 times a message per place. Elsewhere than glibc this does nothing."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER)
