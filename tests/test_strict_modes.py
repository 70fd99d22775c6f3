"""Permission checks as ssh's StrictModes: each refusal names the file and the command
that fixes it (exit 5), and nothing is read or changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailstage.store.errors import UnsafeFile
from mailstage.store.paths import Locations
from mailstage.store.workspace import Workspace
from tests.cli_runner import run_cli


def make(tmp_path: Path, where: str = "data") -> Locations:
    loc = Locations.resolve(tmp_path / where / "store.json", tmp_path / "conf" / "store.key")
    Workspace.init(loc, user="alice")
    return loc


def refused(loc: Locations, match: str) -> None:
    with pytest.raises(UnsafeFile, match=match):
        Workspace.open(loc, user="alice")


def test_a_world_writable_folder_on_the_way_is_refused(tmp_path: Path) -> None:
    loc = make(tmp_path, "open/data")
    os.chmod(tmp_path / "open", 0o777)
    refused(
        loc, f"Anyone may change the folder {tmp_path / 'open'} .*chmod o-w {tmp_path / 'open'}"
    )
    os.chmod(
        tmp_path / "open", 0o1777
    )  # sticky, but not root's? here it is root's (tests run as root)
    if (tmp_path / "open").stat().st_uid == 0:
        Workspace.open(loc, user="alice")  # like /tmp: accepted


def test_a_group_writable_store_folder_is_refused(tmp_path: Path) -> None:
    loc = make(tmp_path)
    os.chmod(loc.store.parent, 0o770)
    refused(loc, f"chmod 700 {loc.store.parent}")


@pytest.mark.parametrize("which", ["store", "key_file", "lock"])
def test_readable_files_are_refused_with_the_fix(tmp_path: Path, which: str) -> None:
    loc = make(tmp_path)
    path = getattr(loc, which)
    os.chmod(path, 0o644)
    if which == "lock":
        with pytest.raises(UnsafeFile, match=f"chmod 600 {path}"):
            Workspace.open(loc, user="alice").add_app("Shop")
    else:
        refused(loc, f"chmod 600 {path}")


def test_a_symlinked_key_file_is_refused(tmp_path: Path) -> None:
    loc = make(tmp_path)
    real = loc.key_file.with_name("real.key")
    os.rename(loc.key_file, real)
    os.symlink(real, loc.key_file)
    refused(loc, "symbolic link")


def test_a_file_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    loc = make(tmp_path)
    os.chown(loc.store, 65534, -1)  # nobody
    refused(loc, f"belongs to .*Fix it with: chown .* {loc.store}")


def test_through_the_cli_exit_5_and_the_file_unchanged(initialized: dict[str, Path]) -> None:
    folder = initialized["store"].parent
    os.chmod(folder, 0o777)
    before = initialized["store"].read_bytes()
    done = run_cli("app", "add", "Shop")
    assert done.returncode == 5
    assert f"chmod 700 {folder}" in done.stderr
    assert initialized["store"].read_bytes() == before
