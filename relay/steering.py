"""What an admin does to the relay's queue (`mailstage queue`, the Queue screen): the
same rules from both. Listing is open to every member; retry, hold, release and delete
change what the relay sends and need Manage Email Configurations; a deletion is
audited and logged `deleted`, and nothing is deleted when the audit cannot be saved."""

from __future__ import annotations

from typing import Any

from mailstage.mailer.maillog import MailLog
from mailstage.relay.queue import CHANGE_WAIT, QueueEntry, QueueItem, RelayQueue, open_queue
from mailstage.relay.worker import record_of
from mailstage.store.errors import MailstageError
from mailstage.store.models import Permission


def age_text(seconds: float) -> str:
    """A duration as people glance at it: 45s, 12m, 3h, 2d."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def queue_of(workspace: Any) -> RelayQueue:
    return open_queue(workspace.file)


def entries(workspace: Any, stage: str | None = None) -> list[QueueItem]:
    if stage is not None:
        stage = workspace.stage(stage).name  # InvalidInput for an unknown stage
    return queue_of(workspace).list(stage)


def retry(
    workspace: Any, entry_id: str | None, stage: str | None = None, *, wait: float = CHANGE_WAIT
) -> list[str]:
    """Due at once: one entry, or (``entry_id`` None) every entry not being sent.
    ``wait``: how long to wait for a relay that is sending it (a screen passes 0)."""
    workspace.require(Permission.MANAGE_EMAIL_CONFIGURATIONS)
    queue = queue_of(workspace)
    if entry_id is not None:
        return [queue.retry(entry_id, wait=wait).id]
    retried = []
    for item in entries(workspace, stage):
        if item.state != "sending":
            retried.append(queue.retry(item.id).id)
    return retried


def hold(workspace: Any, entry_id: str, *, wait: float = CHANGE_WAIT) -> QueueEntry:
    workspace.require(Permission.MANAGE_EMAIL_CONFIGURATIONS)
    return queue_of(workspace).hold(entry_id, wait=wait)


def release(workspace: Any, entry_id: str, *, wait: float = CHANGE_WAIT) -> QueueEntry:
    workspace.require(Permission.MANAGE_EMAIL_CONFIGURATIONS)
    return queue_of(workspace).release(entry_id, wait=wait)


def delete(
    workspace: Any, entry_id: str, *, wait: float = CHANGE_WAIT
) -> tuple[QueueEntry, str | None]:
    """Remove the entry for good; returns it and a warning when the email log could not
    be written (the deletion stands)."""
    workspace.require(Permission.MANAGE_EMAIL_CONFIGURATIONS)
    queue = queue_of(workspace)
    lease = queue.lease_for_change(entry_id, wait)  # held: no relay sends it meanwhile
    entry = lease.entry
    try:
        workspace.record_queue_delete(entry.stage, entry.app, len(entry.pending))
    except BaseException:
        queue.unlock(lease)
        raise
    queue.done(lease)
    record = record_of(entry, "deleted", f"deleted by {workspace.user}", 0)
    try:
        MailLog.of_store(workspace.file).append(record)
    except (OSError, MailstageError) as exc:
        return entry, f"The email log could not be written: {exc}"
    return entry, None
