"""store/user_dirs.py names the folders platformdirs names, in every environment."""

from __future__ import annotations

import platformdirs
import pytest

from mailstage.store.user_dirs import FOLDERS, normal_path, user_dir, user_path

ENVIRONMENTS = [
    {"HOME": "/home/alice"},
    {"HOME": "/home/alice/"},
    {"HOME": "/"},
    {"HOME": "//net/home"},
    {"HOME": "/home/alice", "XDG_DATA_HOME": "/x/data", "XDG_CONFIG_HOME": "/x/conf/"},
    {"HOME": "/home/alice", "XDG_STATE_HOME": "/x//state"},
    {"HOME": "/home/alice", "XDG_DATA_HOME": "relative", "XDG_STATE_HOME": ""},
    {"HOME": "/home/alice", "XDG_CONFIG_HOME": " /x"},
    {"HOME": "relative/home"},
    {"HOME": ""},
    {},
]


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=repr)
def test_same_folders_as_platformdirs(monkeypatch, environment):
    for name in ("HOME", *(variable for variable, _ in FOLDERS.values())):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for kind in FOLDERS:
        expected = getattr(platformdirs, f"user_{kind}_path")("mailstage")
        assert user_path(kind) == expected
        assert str(user_path(kind)) == str(expected)
        assert user_dir(kind) == str(expected)  # the text, without pathlib


def test_normal_path_writes_a_path_as_pathlib_does():
    """Every string of up to 7 characters from "/", ".", "a" and "~", and some longer."""
    from itertools import product
    from pathlib import PurePosixPath

    texts = ["".join(t) for n in range(8) for t in product("/.a~", repeat=n)]
    texts += ["/home/alice/", "//net/home//x/./y/..", "a/../b", "/ spaced /x", "\\a\\b"]
    for text in texts:
        assert normal_path(text) == str(PurePosixPath(text)), repr(text)
