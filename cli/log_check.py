"""The email log's part in `mailstage check`: every line must open under the store's key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mailstage.mailer.maillog import KEY_PURPOSE, MailLog, log_path
from mailstage.store.check import ExtraCheck, PartCheck


def email_log_check(store: Path) -> ExtraCheck:
    def check(derive: Callable[[bytes], bytes]) -> PartCheck:
        log = MailLog(log_path(store), derive(KEY_PURPOSE))
        records = log.read()
        if log.skipped:
            return PartCheck(
                "email log",
                False,
                f"{log.skipped} line(s) do not open under the store's key; "
                f"{len(records)} record(s) do",
            )
        return PartCheck("email log", True, f"{len(records)} record(s)")

    return check
