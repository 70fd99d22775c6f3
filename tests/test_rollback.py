"""An older copy put back, or another store swapped in, is noticed (exit 5) and can be
adopted on purpose with `mailstage restore --accept-older` (audited)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mailstage.store import envelope, seen
from mailstage.store.paths import Locations
from mailstage.store.seen import StoreRolledBack, last_seen
from mailstage.store.workspace import Workspace
from tests.cli_runner import run_cli
from tests.store_versions import rewrite_as_v1


def add_apps(*names: str) -> None:
    for name in names:
        done = run_cli("app", "add", name)
        assert done.returncode == 0, done.stderr


def test_a_restored_backup_is_refused_until_accepted(initialized: dict[str, Path]) -> None:
    store = initialized["store"]
    add_apps("Shop", "Portal")
    older = store.read_bytes()
    add_apps("Billing")
    store.write_bytes(older)  # a backup put back in place (same store, older version)
    before = store.read_bytes()
    done = run_cli("app", "list")
    assert done.returncode == 5
    assert "older than the one you last saw" in done.stderr
    assert "mailstage restore --accept-older" in done.stderr
    assert store.read_bytes() == before
    done = run_cli("restore", "--accept-older")
    assert done.returncode == 0, done.stderr
    assert "you had seen version 3" in done.stdout
    done = run_cli("app", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert {a["name"] for a in json.loads(done.stdout)} == {"Portal", "Shop"}
    newest = json.loads(run_cli("audit", "--json", "--limit", "1").stdout)[0]
    assert newest["action"] == "store.accept_older"
    assert newest["details"]["seen_version"] == 3 and newest["details"]["found_version"] == 2
    # the adopted store is now ahead of anything seen: later changes work as usual
    add_apps("Billing")


def test_moving_the_bak_over_the_store_is_refused(initialized: dict[str, Path]) -> None:
    store = initialized["store"]
    add_apps("Shop")
    shutil.move(store.with_name("store.json.bak"), store)
    done = run_cli("stage", "list")
    assert done.returncode == 5
    assert "older than the one you last saw (version 0, you saw version 1)" in done.stderr


def test_another_store_swapped_in_is_refused(initialized: dict[str, Path], tmp_path: Path) -> None:
    store = initialized["store"]
    other = tmp_path / "other" / "store.json"
    done = run_cli("--store", str(other), "init")  # same key file: it opens with our key
    assert done.returncode == 0, done.stderr
    add_apps("Shop", "Portal", "Billing")
    shutil.copyfile(other, store)
    done = run_cli("app", "list")
    assert done.returncode == 5
    assert "not the one you used before: its id changed" in done.stderr
    assert run_cli("restore", "--accept-older").returncode == 0
    newest = json.loads(run_cli("audit", "--json", "--limit", "1").stdout)[0]
    assert newest["action"] == "store.accept_older"
    assert newest["details"]["same_store"] is False
    assert run_cli("app", "list").returncode == 0


def test_restore_needs_its_confirmation_flag(initialized: dict[str, Path]) -> None:
    done = run_cli("restore")
    assert done.returncode == 2
    assert "--accept-older" in done.stderr


def test_rolled_back_while_open_is_refused_on_reload(tmp_path: Path) -> None:
    loc = Locations.resolve(tmp_path / "data" / "store.json", tmp_path / "conf" / "store.key")
    ws = Workspace.init(loc, user="alice")
    ws.add_app("Shop")
    older = loc.store.read_bytes()
    ws.add_app("Portal")
    loc.store.write_bytes(older)
    with pytest.raises(StoreRolledBack, match="went back from version 2 to 1"):
        ws.reload()


def test_a_store_written_before_store_ids_opens_and_gets_one(tmp_path: Path) -> None:
    loc = Locations.resolve(tmp_path / "data" / "store.json", tmp_path / "conf" / "store.key")
    Workspace.init(loc, user="alice")
    rewrite_as_v1(loc)  # the old way: a version 1 file, no store id in its header
    again = Workspace.open(loc, user="alice")
    again.add_app("Shop")
    head = loc.store.read_bytes()[:65536]
    store_id = envelope.parse_prefix(head, loc.store).extra["store_id"]
    assert len(store_id) == 32
    assert last_seen(loc.store) == seen.Seen(1, store_id)
