"""Who may touch the store's files, and the checks ssh's StrictModes would make.

A store is either private to one user (folder 0700, files 0600) or shared by a team
(folder group-owned 2770 setgid, store/.bak/lock/log 0660, key file 0640): team mode
is told by the store folder's setgid bit and group. Anything looser, a symlink, or a
file owned by someone outside the team is refused with the command that fixes it.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat

from mailstage.store.errors import InvalidInput, UnsafeFile
from mailstage.store.record import FrozenRecord

TYPE_CHECKING = False  # typing and pathlib (~6 ms) stay off the one-shot commands
if TYPE_CHECKING:
    from os import PathLike

    StrPath = str | PathLike[str]  # a Path, or its text (paths.FileLocations)


class Sharing(FrozenRecord):
    """Private (gid None) or team mode (the group's id and name)."""

    FIELDS = ("gid", "group")
    gid: int | None
    group: str | None

    def __init__(self, gid: int | None = None, group: str | None = None) -> None:
        self._init(gid=gid, group=group)

    @property
    def team(self) -> bool:
        return self.gid is not None

    @property
    def chown_gid(self) -> int:
        """For os.chown: the team's group, or -1 (keep the group) when private."""
        return -1 if self.gid is None else self.gid

    @property
    def file_mode(self) -> int:
        return 0o660 if self.team else 0o600

    @property
    def key_mode(self) -> int:
        return 0o640 if self.team else 0o600

    @property
    def dir_mode(self) -> int:
        return 0o2770 if self.team else 0o700


PRIVATE = Sharing()


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def sharing_of(folder: StrPath) -> Sharing:
    """Team mode when the store's folder is setgid and open to its group."""
    try:
        info = os.stat(folder)
    except OSError:
        return PRIVATE
    if info.st_mode & stat.S_ISGID and info.st_mode & 0o070:
        return Sharing(info.st_gid, group_name(info.st_gid))
    return PRIVATE


def team_sharing(group: str) -> Sharing:
    """The Sharing for ``init --group GROUP``: the group must exist and you must be in it."""
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        raise InvalidInput(
            f"Group (--group) {group!r} does not exist on this machine; create it first "
            f"(as root: groupadd {group}).",
            [("group", "does not exist")],
        ) from None
    uid = os.getuid()
    if uid != 0 and not is_in_group(uid, entry.gr_gid):
        raise InvalidInput(
            f"Group (--group) you ({user_name(uid)}) are not a member of {group!r}; add "
            f"yourself (as root: usermod -aG {group} {user_name(uid)}) and log in again.",
            [("group", "not a member")],
        )
    return Sharing(entry.gr_gid, entry.gr_name)


def is_in_group(uid: int, gid: int) -> bool:
    try:
        user = pwd.getpwuid(uid)
    except KeyError:
        return False
    if user.pw_gid == gid:
        return True
    try:
        return user.pw_name in grp.getgrgid(gid).gr_mem
    except KeyError:
        return False


def _trusted_owner(uid: int, sharing: Sharing) -> bool:
    if uid in (0, os.getuid()):
        return True
    return sharing.gid is not None and is_in_group(uid, sharing.gid)


def check_file(path: StrPath, what: str, sharing: Sharing, *, key: bool = False) -> None:
    """Refuse a symlink, a file owned by someone outside the team, or a file others (or
    another group) may read or write. A missing file passes: the caller decides."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeFile(
            f"The {what} {path} is a symbolic link, which mailstage refuses to follow. "
            f"Point --store/--key-file at the real file instead."
        )
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFile(f"The {what} {path} is not a regular file.")
    if not _trusted_owner(info.st_uid, sharing):
        someone = "you" if not sharing.team else f"a member of the group {sharing.group}"
        raise UnsafeFile(
            f"The {what} {path} belongs to {user_name(info.st_uid)}, who is not {someone}. "
            f"Fix it with: chown {user_name(os.getuid())} {path}"
        )
    mode = stat.S_IMODE(info.st_mode)
    allowed = (sharing.key_mode if key else sharing.file_mode) & 0o777
    if sharing.team and info.st_gid != sharing.gid and mode & 0o070:
        raise UnsafeFile(
            f"The {what} {path} belongs to the group {group_name(info.st_gid)}, not the "
            f"store's group {sharing.group}. Fix it with: chgrp {sharing.group} {path}"
        )
    if mode & ~allowed:
        who = "other users" if not sharing.team else f"users outside the group {sharing.group}"
        raise UnsafeFile(
            f"The {what} {path} can be read or changed by {who} (mode {mode:04o}). "
            f"Fix it with: chmod {allowed:o} {path}"
        )


def check_store_folder(folder: StrPath, sharing: Sharing) -> None:
    """The store's folder: yours (0700) or the team's (2770, the group's); and no folder
    on the way to it that anyone may write to, except a root-owned sticky one like /tmp."""
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(info.st_mode)
    if not _trusted_owner(info.st_uid, sharing):
        raise UnsafeFile(
            f"The store's folder {folder} belongs to {user_name(info.st_uid)}, who is not "
            f"{'you' if not sharing.team else 'a member of the group ' + str(sharing.group)}. "
            f"Fix it with: chown {user_name(os.getuid())} {folder}"
        )
    if sharing.team:
        if mode & 0o007:
            raise UnsafeFile(
                f"The store's folder {folder} is open to users outside the group "
                f"{sharing.group} (mode {mode:04o}). Fix it with: chmod 2770 {folder}"
            )
    elif mode & 0o022:
        raise UnsafeFile(
            f"Other users may change files in the store's folder {folder} (mode {mode:04o}). "
            f"Fix it with: chmod 700 {folder}"
        )
    check_folders_on_the_way(folder)


def check_folders_on_the_way(folder: StrPath) -> None:
    """No folder above the store may be writable by everyone (unless it is root's and
    sticky, like /tmp): whoever can write there can swap the store's folder."""
    current = os.path.dirname(os.path.realpath(folder))
    while True:
        try:
            info = os.stat(current)
        except OSError:
            return
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o002 and not (mode & stat.S_ISVTX and info.st_uid == 0):
            raise UnsafeFile(
                f"Anyone may change the folder {current} above the store (mode {mode:04o}), "
                f"so anyone could replace the store. Fix it with: chmod o-w {current}"
            )
        parent = os.path.dirname(current)
        if parent == current:
            return
        current = parent
