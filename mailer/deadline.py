"""One deadline for a whole piece of network work (a Send test, a relay's upstream
delivery), and blocking work run under it without holding the process.

``asyncio.wait_for(asyncio.to_thread(...))`` gives up waiting but leaves the thread
running, and the interpreter waits for executor threads at exit: a token endpoint
that drips one byte a second would keep the process alive long after the timeout.
``in_daemon_thread`` runs the blocking call in a daemon thread (exit does not wait for
it) and, when the deadline passes, calls ``abort`` so the call's sockets close and the
thread ends too.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    """A point in time on the monotonic clock (the event loop's clock too)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(self.at - time.monotonic(), 0.0)

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at

    def sentence(self, doing: str = "") -> str:
        during = f" while {doing}" if doing else ""
        return f"No answer within {self.seconds:g} s{during}: the time limit for all of it."

    def scope(self) -> asyncio.Timeout:
        """``async with deadline.scope():`` cancels the work inside when it passes and
        raises TimeoutError."""
        return asyncio.timeout_at(asyncio.get_running_loop().time() + self.remaining())


async def in_daemon_thread(
    call: Callable[[], T], *, deadline: Deadline, abort: Callable[[], None] | None = None
) -> T:
    """``call()`` in a daemon thread; TimeoutError when the deadline passes first (then
    ``abort()`` is called). Cancelling the caller aborts the call too."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(outcome: Callable[[], None]) -> None:
        if not future.done():
            outcome()

    def work() -> None:
        try:
            value = call()
        except BaseException as exc:  # handed over to the awaiting task
            error = exc
            report = lambda: settle(lambda: future.set_exception(error))  # noqa: E731
        else:
            report = lambda: settle(lambda: future.set_result(value))  # noqa: E731
        try:
            loop.call_soon_threadsafe(report)
        except RuntimeError:
            pass  # the loop is closed: nobody waits any more

    threading.Thread(target=work, name="mailstage-blocking", daemon=True).start()
    try:
        async with asyncio.timeout(deadline.remaining()):
            return await future
    except BaseException:
        if abort is not None:
            abort()
        raise
