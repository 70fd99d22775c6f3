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
    variable, under_home = FOLDERS[kind]
    if _plain_linux():
        xdg = os.environ.get(variable, "")
        if posixpath.isabs(xdg):
            return Path(xdg, APP_NAME)
        home = os.environ.get("HOME", "")
        if posixpath.isabs(home):
            return Path(home, under_home, APP_NAME)
    import platformdirs

    found: Path = getattr(platformdirs, f"user_{kind}_path")(APP_NAME)
    return found


def _plain_linux() -> bool:
    # platformdirs picks its Android class on these signs
    android = hasattr(sys, "getandroidapilevel") or "ANDROID_DATA" in os.environ
    return sys.platform == "linux" and not android
