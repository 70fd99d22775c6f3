"""Named, timed steps of a send test, reported as they start and finish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

from mailstage.mailer.deadline import Deadline
from mailstage.store.text import visible


class StepName(StrEnum):
    RESOLVE = "resolve"
    CONNECT = "connect"
    BANNER = "banner"
    EHLO = "ehlo"
    TLS = "tls"
    TOKEN = "token"
    AUTH = "auth"
    SEND = "send"
    QUIT = "quit"


STEP_LABELS = {
    StepName.RESOLVE: "Resolve the server name",
    StepName.CONNECT: "Connect",
    StepName.BANNER: "Server greeting",
    StepName.EHLO: "EHLO",
    StepName.TLS: "TLS",
    StepName.TOKEN: "OAuth token",
    StepName.AUTH: "AUTH",
    StepName.SEND: "MAIL/RCPT/DATA",
    StepName.QUIT: "QUIT",
}

StepStatus = Literal["running", "ok", "failed"]


class StepReport(BaseModel):
    name: StepName
    status: StepStatus = "running"
    ms: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def label(self) -> str:
        return STEP_LABELS[self.name]

    def to_json(self) -> dict[str, object]:
        return {"name": self.name.value, "ok": self.ok, "ms": self.ms, "detail": self.detail}


class StepFailed(Exception):
    """Ends the send test at the running step, with what the user needs to know."""

    def __init__(self, message: str, *, reply: str = "", hint_key: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reply = reply
        self.hint_key = hint_key


StepCallback = Callable[[StepReport], None]


class StepRecorder:
    """Times each step and tells the listener when it starts and how it ends."""

    def __init__(
        self,
        on_step: StepCallback | None = None,
        *,
        clean: Callable[[str], str] = visible,
        deadline: Deadline | None = None,
    ) -> None:
        self.deadline = deadline
        self.steps: list[StepReport] = []
        self.failed: StepReport | None = None
        self._on_step = on_step
        self._clean = clean  # every detail passes it: details quote what servers said

    @contextmanager
    def step(self, name: StepName) -> Iterator[StepReport]:
        report = StepReport(name=name)
        self.steps.append(report)
        self._notify(report)
        started = time.perf_counter()
        try:
            yield report
        except asyncio.CancelledError:
            report.status = "failed"
            if self.deadline is not None and self.deadline.expired:
                report.detail = self.deadline.sentence()  # the whole test's time is up
                self.failed = report
            else:
                report.detail = "cancelled"
            raise
        except Exception as exc:
            report.status = "failed"
            report.detail = exc.message if isinstance(exc, StepFailed) else type(exc).__name__
            self.failed = report
            raise
        else:
            report.status = "ok"
        finally:
            report.ms = round((time.perf_counter() - started) * 1000)
            report.detail = self._clean(report.detail)
            self._notify(report)

    def _notify(self, report: StepReport) -> None:
        if self._on_step is not None:
            # a copy, so a listener that keeps reports sees each state as it was
            self._on_step(report.model_copy())
