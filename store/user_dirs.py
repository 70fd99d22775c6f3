"""The user's data, config and state folders for mailstage, as platformdirs names them.

On Linux with an absolute XDG variable or HOME (nearly always) the folder is computed
here, as platformdirs computes it there: platformdirs.unix imports tempfile, shutil,
bz2, lzma and random, a few milliseconds of every one-shot command, which reads the
state folder's seen.json each time. Anything else (another system, Android, a relative
or missing HOME) asks platformdirs itself. tests/test_store_user_dirs.py compares the
two under each environment.
"""

from __future__ import annotations

import os
import posixpath
import sys

TYPE_CHECKING = False  # pathlib (~4 ms with urllib.parse and ipaddress) only when asked
if TYPE_CHECKING:
    from pathlib import Path

APP_NAME = "mailstage"
# kind: (its XDG variable, the folder under HOME without it)
FOLDERS = {
    "data": ("XDG_DATA_HOME", ".local/share"),
    "config": ("XDG_CONFIG_HOME", ".config"),
    "state": ("XDG_STATE_HOME", ".local/state"),
}


def user_path(kind: str) -> Path:
    """platformdirs.user_{kind}_path("mailstage"), for kind data, config or state."""
    from pathlib import Path

    return Path(user_dir(kind))


def user_dir(kind: str) -> str:
    """user_path(kind) as text, the way str(Path) writes it; pathlib is not imported
    unless platformdirs is asked."""
    variable, under_home = FOLDERS[kind]
    if _plain_linux():
        xdg = os.environ.get(variable, "")
        if posixpath.isabs(xdg):
            return normal_path(posixpath.join(xdg, APP_NAME))
        home = os.environ.get("HOME", "")
        if posixpath.isabs(home):
            return normal_path(posixpath.join(home, under_home, APP_NAME))
    import platformdirs

    return str(getattr(platformdirs, f"user_{kind}_path")(APP_NAME))


def normal_path(text: str) -> str:
    """str(PurePosixPath(text)): empty and "." parts dropped, no trailing slash, and one
    leading slash (two stay two, as POSIX allows); nothing else changes ("..", links).
    tests/test_store_user_dirs.py compares it with pathlib."""
    stripped = text.lstrip("/")
    leading = len(text) - len(stripped)
    root = "//" if leading == 2 else "/" if leading else ""
    parts = [part for part in stripped.split("/") if part and part != "."]
    return root + "/".join(parts) or "."


def _plain_linux() -> bool:
    # platformdirs picks its Android class on these signs
    android = hasattr(sys, "getandroidapilevel") or "ANDROID_DATA" in os.environ
    return sys.platform == "linux" and not android
