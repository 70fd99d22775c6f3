"""The email log's part in `mailstage check`: every line must open under the store's key."""

from __future__ import annotations

from collections.abc import Callable

from mailstage.mailer.maillog import KEY_PURPOSE, MailLog, log_path
from mailstage.store.check import ExtraCheck, PartCheck
from mailstage.store.paths import Locations


def email_log_check(locations: Locations) -> ExtraCheck:
    def check(derive: Callable[[bytes], bytes]) -> PartCheck:
        key = derive(KEY_PURPOSE)
        if locations.database is not None:
            from mailstage.mailer.maillog_db import DatabaseMailLog

            log: MailLog = DatabaseMailLog(locations.database, key)
        else:
            log = MailLog(log_path(locations.store), key)
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
