"""`--store postgresql://...` is never a relative file name (issue 18 item 1).

The real CLI in a subprocess, run from an empty folder: whatever the URL and whatever the
command, no file or folder appears (a file `postgresql:` once did), the password in the
URL is never printed, a malformed URL is exit 3 naming --store and the rule, and without
the PostgreSQL extra a well-formed one is exit 5 naming the extra.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "Sup3rSecretPw"
URL = f"postgresql://alice:{PASSWORD}@127.0.0.1:1/mailstage"
# psycopg blocked the way Python itself blocks a module: as if the extra were not installed
WITHOUT_EXTRA = (
    "import sys; sys.modules['psycopg'] = None; "
    "from mailstage.cli.main import main; sys.exit(main())"
)
COMMANDS = [
    ["init"],
    ["stage", "list"],
    ["stage", "add", "Staging"],
    ["email", "show", "Development"],
    ["app", "add", "Billing"],
    ["member", "list"],
    ["log"],
    ["relay", "Development", "--listen", "127.0.0.1:0"],
    ["audit"],
]


def tree(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def run_without_extra(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=60,
        input="",
    )


@pytest.fixture
def empty_folder(tmp_path: Path, isolated_env: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_without_the_extra_a_url_is_exit_5_naming_it_and_creates_nothing(
    command: list[str], empty_folder: Path, tmp_path: Path
) -> None:
    before = tree(tmp_path)
    result = run_without_extra(["--store", URL, *command], empty_folder)
    assert result.returncode == 5, result.stderr
    assert "pip install 'mailstage[postgres]'" in result.stderr
    assert "the database mailstage on 127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert tree(tmp_path) == before


def test_locate_names_the_database_without_the_password(empty_folder: Path, tmp_path: Path) -> None:
    before = tree(tmp_path)
    result = run_without_extra(["--store", URL, "locate", "--json"], empty_folder)
    assert result.returncode == 0, result.stderr
    assert '"store": "postgresql://alice@127.0.0.1:1/mailstage"' in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    assert tree(tmp_path) == before


def test_the_environment_variable_is_a_url_too(empty_folder: Path, tmp_path: Path) -> None:
    before = tree(tmp_path)
    result = run_without_extra(["init"], empty_folder, env={"MAILSTAGE_STORE": URL})
    assert result.returncode == 5, result.stderr
    assert "mailstage[postgres]" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    ("store", "rule"),
    [
        ("postgresql:", "two slashes"),
        ("postgresql:mailstage", "two slashes"),
        (f"postgres:/alice:{PASSWORD}@host/db", "two slashes"),
        (f"postgresql://alice:{PASSWORD}@db.example", "database name"),
        (f"postgresql://alice:{PASSWORD}@db.example/", "database name"),
        (f"postgresql://alice:{PASSWORD}@db.example:99999/db", "port"),
        (f"postgresql://alice:{PASSWORD}@db.example:http/db", "port"),
        (f"postgresql://alice:{PASSWORD}@db.example/a/b", "database name"),
        (f"postgresql://alice:{PASSWORD}@db.example/db#x", "'#'"),
        (f"postgresql://alice:{PASSWORD}@db.example/db?sslmod=require", "sslmod"),
        (f"mysql://alice:{PASSWORD}@db.example/db", "mysql:// scheme"),
        (f"file://{PASSWORD}/store.json", "file:// scheme"),
    ],
)
def test_a_malformed_url_is_exit_3_naming_store_and_the_rule(
    store: str, rule: str, empty_folder: Path, tmp_path: Path
) -> None:
    before = tree(tmp_path)
    for env, args, origin in (
        ({}, ["--store", store, "stage", "list"], "--store"),
        ({"MAILSTAGE_STORE": store}, ["init"], "MAILSTAGE_STORE"),
    ):
        result = run_without_extra(args, empty_folder, env)
        assert result.returncode == 3, result.stderr
        assert f"Store ({origin})" in result.stderr
        assert rule in result.stderr
        assert "Traceback" not in result.stderr
        assert PASSWORD not in result.stdout + result.stderr
    assert tree(tmp_path) == before


def test_a_file_path_is_still_a_file(empty_folder: Path) -> None:
    """A relative path with a colon that is not a URL stays a file name."""
    result = run_without_extra(["--store", "stores/team:a.json", "init"], empty_folder)
    assert result.returncode == 0, result.stderr
    assert (empty_folder / "stores" / "team:a.json").is_file()
