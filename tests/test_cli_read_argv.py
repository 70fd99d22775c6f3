"""The hand-read argv of the plain one-shot reads (cli/read_argv.py) gives the handler and
the values argparse gives, and leaves every other form to argparse."""

from __future__ import annotations

import pytest

from mailstage.cli.main import build_parser
from mailstage.cli.read_argv import plain_read

PLAIN = [
    ["email", "show", "QA"],
    ["email", "show", "QA", "--json"],
    ["email", "show", "--json", "QA"],
    ["email", "show", "QA", "--json", "--json"],
    ["email", "show", "qa prod"],
    ["email", "show", ""],
    ["email", "show", "a=b"],
    ["stage", "list"],
    ["stage", "list", "--json"],
    ["--store", "/tmp/s.json", "stage", "list"],
    ["--store=/tmp/s.json", "--key-file", "/tmp/k", "email", "show", "QA"],
    ["--key-file=-odd", "stage", "list", "--json"],
    ["--store", "a", "--store", "b", "stage", "list"],
    ["--store=", "stage", "list"],
    ["testlist", "show", "Shop", "--stage", "QA"],
    ["testlist", "show", "Shop", "--stage", "QA", "--json"],
    ["testlist", "show", "--stage", "QA", "Shop"],
    ["testlist", "show", "--stage=QA", "--json", "Shop"],
    ["testlist", "show", "Shop", "--stage=--json"],
    ["testlist", "show", "Shop", "--stage=-x"],
    ["testlist", "show", "Shop", "--stage", ""],
    ["--key-file", "/k", "testlist", "show", "My app", "--stage", "Q A"],
]

LEFT_TO_ARGPARSE = [
    [],
    ["--help"],
    ["email", "show"],
    ["email", "show", "-h", "QA"],
    ["email", "show", "QA", "--help"],
    ["email", "show", "QA", "extra"],
    ["email", "show", "--", "QA"],
    ["email", "show", "-QA"],
    ["email", "show", "QA", "--jso"],
    ["email", "show", "QA", "--json=yes"],
    ["email", "--json", "show", "QA"],
    ["--json", "stage", "list"],
    ["stage", "list", "QA"],
    ["stage", "add", "QA"],
    ["stage", "--json", "list"],
    ["--store", "-x", "stage", "list"],
    ["--store"],
    ["--store", "a", "--", "stage", "list"],
    ["--password", "hunter2", "stage", "list"],
    ["--stor", "a", "stage", "list"],
    ["stage", "list", "--store", "a"],
    ["email", "set", "QA", "--server", "smtp.example.com"],
    ["testlist", "show", "Shop"],
    ["testlist", "show", "--stage", "QA"],
    ["testlist", "show", "Shop", "--stage"],
    ["testlist", "show", "Shop", "--stage", "-x"],
    ["testlist", "show", "Shop", "--stage", "--json"],
    ["testlist", "show", "Shop", "--stage", "QA", "--stage", "Dev"],
    ["testlist", "show", "Shop", "Bar", "--stage", "QA"],
    ["testlist", "show", "Shop", "--stag", "QA"],
    ["testlist", "show", "Shop", "--stage", "QA", "--help"],
    ["testlist", "show", "-Shop", "--stage", "QA"],
    ["testlist", "--stage", "QA", "show", "Shop"],
    ["testlist", "add", "Shop", "--stage", "QA", "a@example.com"],
    ["testlist", "activate", "Shop", "--stage", "QA"],
    ["--store", "a", "testlist", "show", "Shop", "--", "--stage", "QA"],
]

FIELDS = ("command", "action", "json", "store", "key_file", "stage", "app", "testlist_action")


@pytest.mark.parametrize("argv", PLAIN, ids=" ".join)
def test_a_plain_read_gets_what_argparse_gives(argv):
    read = plain_read(argv)
    assert read is not None
    handler, args = read
    expected = build_parser(argv).parse_args(argv)
    assert handler is expected.func
    for name in FIELDS:
        assert getattr(args, name, None) == getattr(expected, name, None), name


@pytest.mark.parametrize("argv", LEFT_TO_ARGPARSE, ids=lambda a: " ".join(a) or "(none)")
def test_every_other_form_is_left_to_argparse(argv):
    assert plain_read(argv) is None
