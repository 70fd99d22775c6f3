"""Errors a user can meet, each carrying the documented exit code of the CLI.

The message is one or two plain sentences meant for the person at the keyboard;
it never contains a secret value.
"""

from __future__ import annotations


class MailstageError(Exception):
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(MailstageError):
    """Exit 3: the message names the field and the rule."""

    exit_code = 3

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class NotPermitted(MailstageError):
    """Exit 4: the message names the permission that is missing."""

    exit_code = 4

    def __init__(self, message: str, permission: str) -> None:
        super().__init__(message)
        self.permission = permission


class StoreUnreadable(MailstageError):
    """Exit 5: wrong key, tampered, truncated, unknown version, or unsafe permissions."""

    exit_code = 5


class UnsafeFile(StoreUnreadable):
    """Exit 5: a store or key file that other users could read, or a symlink."""


class NotInitialized(StoreUnreadable):
    """Exit 5: there is no store yet."""


class StoreWriteFailed(MailstageError):
    """Exit 5: the file system refused (read-only, full, a planted symlink); the
    previous store file is unchanged."""

    exit_code = 5


class Conflict(MailstageError):
    """Exit 6: another admin saved first (or the lock could not be taken in time)."""

    exit_code = 6

    def __init__(
        self, message: str, disk_generation: int | None = None, changes: list[str] | None = None
    ) -> None:
        self.summary = message
        self.changes = changes or []
        if self.changes:
            message += " Changed since you opened it: " + "; ".join(self.changes) + "."
        super().__init__(message)
        self.disk_generation = disk_generation


class LockTimeout(Conflict):
    pass


class DeliveryFailed(MailstageError):
    """Exit 7: names the step, the server's reply and a hint."""

    exit_code = 7


class ServerCannotStart(MailstageError):
    """Exit 8: a server (the relay) could not listen: address in use or not allowed."""

    exit_code = 8


FILE_SYSTEM_REASONS = {
    "EROFS": "the file system is read-only",
    "ENOSPC": "the disk is full",
    "EDQUOT": "your disk quota is used up",
    "ELOOP": "it is a symbolic link, which mailstage refuses to follow (remove it)",
    "EACCES": "permission denied",
    "EPERM": "the operation is not permitted",
    "ENAMETOOLONG": "the name is too long",
    "EISDIR": "it is a folder",
    "ENOTDIR": "a part of the path is not a folder",
    "EIO": "an input/output error from the disk",
}


def file_system_reason(exc: OSError) -> str:
    """Why the file system refused, in words ("the disk is full")."""
    import errno

    name = errno.errorcode.get(exc.errno or 0, "")
    return FILE_SYSTEM_REASONS.get(name) or (exc.strerror or "an error").lower()


def file_system_error(exc: OSError, doing: str) -> StoreWriteFailed:
    """Exit 5 with one sentence: what could not be done, on which file, and why."""
    where = f" ({exc.filename})" if exc.filename else ""
    return StoreWriteFailed(
        f"Could not {doing}{where}: {file_system_reason(exc)}. "
        f"The store file is as it was before this command."
    )
