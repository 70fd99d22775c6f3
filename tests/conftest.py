"""Shared fixtures: every test runs with its own HOME/XDG folders under tmp_path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.loopback", "tests.tui_fixtures", "tests.os_users"]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    for name, sub in (
        ("HOME", ""),
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CACHE_HOME", ".cache"),
        ("XDG_STATE_HOME", ".local/state"),
    ):
        monkeypatch.setenv(name, str(home / sub) if sub else str(home))
    for name in ("MAILSTAGE_STORE", "MAILSTAGE_KEY_FILE", "MAILSTAGE_PASSPHRASE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    # Identity is the real uid, never these: set them to a name nobody has, to prove it.
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("LOGNAME", "alice")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    previous_umask = os.umask(0o022)
    yield home
    os.umask(previous_umask)


@pytest.fixture
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """MAILSTAGE_STORE / MAILSTAGE_KEY_FILE pointing under tmp_path (no store created)."""
    paths = {"store": tmp_path / "data" / "store.json", "key": tmp_path / "conf" / "store.key"}
    monkeypatch.setenv("MAILSTAGE_STORE", str(paths["store"]))
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(paths["key"]))
    return paths


@pytest.fixture
def initialized(store_env: dict[str, Path]) -> dict[str, Path]:
    """A real store created through the CLI by the user running the tests (the real uid),
    its Organization Administrator."""
    from tests.cli_runner import run_cli

    result = run_cli("init")
    assert result.returncode == 0, result.stderr
    return store_env
