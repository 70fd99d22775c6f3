"""The one-shot reads' fast path (cli/read_argv.py, store/paths.py FileLocations,
cli/read_commands.py) prints, byte for byte, what the full path (argparse and
Locations.resolve) prints: the same standard output, standard error and exit code, for
every command and --json, and for every refusal (no store, wrong key, damaged file,
unsafe modes, unknown stage or app, a rolled-back store, a passphrase store).

Each run is a real process; the full path is the same process with plain_read
switched off, as any form argparse must read goes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mailstage.store.paths import FileLocations, Locations
from tests.cli_runner import REPO
from tests.store_factory import CLIENT_SECRET, PASSWORD, full_workspace, locations
from tests.store_versions import rewrite_as_v1

PROBE = """
import json, os, sys
import mailstage.cli.main as cli

if sys.argv[1] == "full":
    cli.plain_read = lambda argv: None
code = cli.main(sys.argv[2:])
with open(os.environ["PROBE_OUT"], "w") as out:
    json.dump({"argparse": "argparse" in sys.modules}, out)
sys.exit(code)
"""

READS = [
    ["email", "show", "QA"],
    ["email", "show", "qa", "--json"],
    ["email", "show", "Production"],
    ["email", "show", "Production", "--json"],
    ["email", "show", "Development"],
    ["email", "show", "development", "--json"],
    ["stage", "list"],
    ["stage", "list", "--json"],
    ["testlist", "show", "Shop", "--stage", "QA"],
    ["testlist", "show", "shop", "--stage", "qa", "--json"],
    ["testlist", "show", "Portal", "--stage=Production"],
    ["testlist", "show", "--stage", "Development", "Portal", "--json"],
]
REFUSED_NAMES = [
    ["email", "show", "Staging"],
    ["email", "show", ""],
    ["testlist", "show", "Nope", "--stage", "QA"],
    ["testlist", "show", "Shop", "--stage", "Nope", "--json"],
]


def run(mode: str, argv: list[str], env: dict[str, str], cwd: Path, tmp_path: Path) -> dict:
    out = tmp_path / "probe.json"
    out.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, mode, *argv],
        capture_output=True,
        text=True,
        env={**env, "PROBE_OUT": str(out)},
        cwd=cwd,
        timeout=60,
    )
    used_argparse = json.loads(out.read_text())["argparse"] if out.exists() else None
    return {
        "code": result.returncode,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "argparse": used_argparse,
    }


def same_both_ways(argv: list[str], env: dict[str, str], tmp_path: Path, cwd: Path = REPO) -> dict:
    """Run ``argv`` through the full path, then the fast one: the same outcome; returns it."""
    full = run("full", argv, env, cwd, tmp_path)
    fast = run("fast", argv, env, cwd, tmp_path)
    assert full["argparse"] is True
    assert fast["argparse"] is False, argv  # it did take the fast path
    assert "Traceback" not in fast["stderr"]
    for key in ("code", "stdout", "stderr"):
        assert fast[key] == full[key], (argv, key)
    return fast


def store_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    loc = locations(tmp_path)
    env = {**os.environ, "MAILSTAGE_STORE": str(loc.store), "MAILSTAGE_KEY_FILE": str(loc.key_file)}
    env.pop("MAILSTAGE_PASSPHRASE", None)
    return {**env, **extra}


def test_every_read_prints_the_same_both_ways(tmp_path):
    full_workspace(tmp_path)
    env = store_env(tmp_path)
    for argv in READS:
        result = same_both_ways(argv, env, tmp_path)
        assert result["code"] == 0, result["stderr"]
        assert PASSWORD not in result["stdout"] and CLIENT_SECRET not in result["stdout"]
    for argv in REFUSED_NAMES:
        result = same_both_ways(argv, env, tmp_path)
        assert result["code"] == 3 and "does not exist" in result["stderr"], argv


def test_a_version_1_file_reads_the_same_both_ways(tmp_path):
    full_workspace(tmp_path)
    rewrite_as_v1(locations(tmp_path))
    env = store_env(tmp_path)
    for argv in (READS[0], READS[1], READS[7], READS[9]):
        assert same_both_ways(argv, env, tmp_path)["code"] == 0


def test_no_store_and_no_key_file_say_the_same_both_ways(tmp_path):
    env = store_env(tmp_path)
    result = same_both_ways(["stage", "list"], env, tmp_path)
    assert result["code"] == 5 and "There is no store at" in result["stderr"]
    full_workspace(tmp_path)
    os.unlink(locations(tmp_path).key_file)
    result = same_both_ways(["email", "show", "QA", "--json"], env, tmp_path)
    assert result["code"] == 5 and "does not exist" in result["stderr"]


def test_a_wrong_key_and_a_damaged_file_say_the_same_both_ways(tmp_path):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    other = tmp_path / "other"
    full_workspace(other)
    env = store_env(tmp_path, MAILSTAGE_KEY_FILE=str(locations(other).key_file))
    result = same_both_ways(["email", "show", "QA"], env, tmp_path)
    assert result["code"] == 5 and "does not match it" in result["stderr"]

    short = tmp_path / "short.key"
    short.write_bytes(b"x" * 16)
    short.chmod(0o600)
    result = same_both_ways(
        ["stage", "list"], store_env(tmp_path, MAILSTAGE_KEY_FILE=str(short)), tmp_path
    )
    assert result["code"] == 5 and "holds 16 bytes" in result["stderr"]

    raw = bytearray(loc.store.read_bytes())
    raw[-3] ^= 0x01  # in the last section: the core still opens
    loc.store.write_bytes(bytes(raw))
    result = same_both_ways(
        ["testlist", "show", "Shop", "--stage", "QA"], store_env(tmp_path), tmp_path
    )
    assert result["code"] in (0, 5)
    raw[40] ^= 0x01  # the header: nothing opens
    loc.store.write_bytes(bytes(raw))
    result = same_both_ways(["stage", "list", "--json"], store_env(tmp_path), tmp_path)
    assert result["code"] == 5 and "Cannot open the store" in result["stderr"]


@pytest.mark.parametrize("what", ["store", "key file", "folder", "symlink"])
def test_unsafe_files_are_refused_the_same_both_ways(tmp_path, what):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    env = store_env(tmp_path)
    if what == "store":
        loc.store.chmod(0o644)
    elif what == "key file":
        loc.key_file.chmod(0o640)
    elif what == "folder":
        loc.store.parent.chmod(0o777)
    else:
        link = tmp_path / "link.json"
        link.symlink_to(loc.store)
        env["MAILSTAGE_STORE"] = str(link)
        env["MAILSTAGE_KEY_FILE"] = str(loc.key_file)
    result = same_both_ways(["email", "show", "QA"], env, tmp_path)
    assert result["code"] == 5
    assert ("symbolic link" if what == "symlink" else "Fix it with") in result["stderr"]


def test_a_rolled_back_store_is_refused_the_same_both_ways(tmp_path):
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    env = store_env(tmp_path)
    older = loc.store.read_bytes()
    assert same_both_ways(["stage", "list"], env, tmp_path)["code"] == 0
    from mailstage.store.workspace import Workspace

    ws = Workspace.open(loc, user="alice")
    with ws.transaction():
        ws.add_app("Billing")
    assert same_both_ways(["stage", "list"], env, tmp_path)["code"] == 0  # seen: the newer
    loc.store.write_bytes(older)
    result = same_both_ways(["email", "show", "QA"], env, tmp_path)
    assert result["code"] == 5 and "older than the one you last saw" in result["stderr"]


def test_a_passphrase_store_reads_the_same_both_ways(tmp_path):
    full_workspace(tmp_path, passphrase="correct horse battery staple")
    right = store_env(tmp_path, MAILSTAGE_PASSPHRASE="correct horse battery staple")
    assert same_both_ways(["email", "show", "QA", "--json"], right, tmp_path)["code"] == 0
    wrong = store_env(tmp_path, MAILSTAGE_PASSPHRASE="wrong")
    result = same_both_ways(["stage", "list"], wrong, tmp_path)
    assert result["code"] == 5 and "passphrase does not match" in result["stderr"]
    none = store_env(tmp_path)  # no terminal to ask at
    result = same_both_ways(["stage", "list"], none, tmp_path)
    assert result["code"] == 5 and "MAILSTAGE_PASSPHRASE" in result["stderr"]


def test_a_key_file_store_with_a_passphrase_set_says_the_same_both_ways(tmp_path):
    full_workspace(tmp_path)
    env = store_env(tmp_path, MAILSTAGE_PASSPHRASE="anything")
    result = same_both_ways(["stage", "list"], env, tmp_path)
    assert result["code"] == 5 and "not a passphrase" in result["stderr"]


def test_paths_named_oddly_name_the_same_files_both_ways(tmp_path):
    """Relative paths, doubled slashes, "." parts and a team's key beside the store: the
    fast path's text is what Locations.resolve's Path prints (messages name it)."""
    full_workspace(tmp_path)
    loc = locations(tmp_path)
    env = store_env(tmp_path)
    del env["MAILSTAGE_STORE"], env["MAILSTAGE_KEY_FILE"]
    key = "conf//./store.key"
    for store in ("data/store.json", "./data//store.json", "data/./store.json", str(loc.store)):
        argv = ["--store", store, "--key-file", key, "email", "show", "QA"]
        assert same_both_ways(argv, env, tmp_path, cwd=tmp_path)["code"] == 0
    missing = ["--store", "data//nothing.json", "--key-file", key, "stage", "list"]
    result = same_both_ways(missing, env, tmp_path, cwd=tmp_path)
    assert f"There is no store at {tmp_path}/data/nothing.json yet" in result["stderr"]
    shutil.copy(loc.key_file, loc.store.parent / "store.key")  # the key beside the store
    os.chmod(loc.store.parent / "store.key", 0o600)
    result = same_both_ways(
        ["--store", "data/store.json", "stage", "list"], env, tmp_path, tmp_path
    )
    assert result["code"] == 0


@pytest.mark.parametrize(
    "store, key",
    [
        ("/srv/mailstage/store.json", None),
        ("/srv//mailstage/./store.json/", "/k//store.key/."),
        ("relative/store.json", "key"),
        ("./store.json", "../k"),
        ("//net/store.json", "//k"),
        ("///three/store.json", "a/../b"),
        ("~/store.json", None),
        ("./~/store.json", None),
        ("x:/store.json", None),
        ("postgresql://u@h/db", None),
        ("/", None),
        (None, None),
        (None, "k.key"),
    ],
)
def test_file_locations_are_the_text_of_what_locations_resolve_gives(
    monkeypatch, tmp_path, store, key
):
    """FileLocations.plain is Locations.resolve without pathlib, or None (then resolve)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("MAILSTAGE_STORE", "MAILSTAGE_KEY_FILE", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    plain = FileLocations.plain(store, key)
    if plain is None:
        assert store in (
            "~/store.json",
            "./~/store.json",
            "x:/store.json",
            "postgresql://u@h/db",
            "/",
        )
        return
    resolved = Locations.resolve(store, key)
    assert (plain.store, plain.key_file) == (str(resolved.store), str(resolved.key_file))
    assert plain.shown == resolved.shown and plain.seen_key == resolved.seen_key
