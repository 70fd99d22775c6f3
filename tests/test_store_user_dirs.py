"""store/user_dirs.py names the folders platformdirs names, in every environment."""

from __future__ import annotations

import platformdirs
import pytest

from mailstage.store.user_dirs import FOLDERS, user_path

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
