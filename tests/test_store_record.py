"""The read path's plain classes (store/record.py) compare, hash and print as the
dataclasses they replaced did, and never print a secret or the data key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailstage.store.database_url import parse_database_url
from mailstage.store.envelope import Section
from mailstage.store.errors import StoreUnreadable
from mailstage.store.keys import KeyFile, Passphrase
from mailstage.store.paths import Locations
from mailstage.store.reader import OpenedStore, RawFile
from mailstage.store.sharing import PRIVATE, Sharing


def test_equal_by_fields_hashable_when_frozen_and_not_assignable():
    assert Sharing() == PRIVATE and Sharing(5, "team") != PRIVATE
    assert hash(Sharing(5, "team")) == hash(Sharing(5, "team"))
    assert Section("core", b"n" * 12, 40) == Section("core", b"n" * 12, 40, None, 0)
    with pytest.raises(AttributeError):
        PRIVATE.gid = 5  # type: ignore[misc]
    assert Sharing() != (None, None)  # not a tuple


def test_locations_compare_without_their_refusal():
    a = Locations(Path("/s/store.json"), Path("/k"), refusal=StoreUnreadable("one"))
    b = Locations(Path("/s/store.json"), Path("/k"))
    assert a == b and hash(a) == hash(b)
    assert repr(b) == (
        "Locations(file=PosixPath('/s/store.json'), key_file=PosixPath('/k'), "
        "database=None, refusal=None)"
    )


def test_mutable_records_are_unhashable_and_compare_by_fields():
    assert KeyFile(Path("/k")) == KeyFile(Path("/k"), "keyfile")
    assert KeyFile(Path("/k")) != KeyFile(Path("/other"))
    with pytest.raises(TypeError):
        hash(KeyFile(Path("/k")))


def test_no_secret_or_key_in_a_repr():
    assert "hunter2" not in repr(Passphrase("hunter2-and-more"))
    url = parse_database_url("postgresql://qa:s3cret-pw@db.example.com/mail", "--store")
    assert "s3cret-pw" not in repr(url) and "db.example.com" in repr(url)
    raw = RawFile(-1, b"", 0)
    opened = OpenedStore(
        Locations(Path("/s"), Path("/k")), b"K" * 32, 3, [], raw, None, {}, b'{"password":"x"}'
    )
    assert "KKKK" not in repr(opened) and "password" not in repr(opened)
    assert "generation=3" in repr(opened)
