"""Changing a test list validates only what changed: the addresses already stored
passed the rules on the way in (issue 11, kind 9)."""

from __future__ import annotations

import pytest

from mailstage.store.errors import InvalidInput
from mailstage.store.models import TestList
from mailstage.store.workspace import Workspace
from tests.store_factory import full_workspace, locations

# Stored by an older mailstage under looser rules: checking it again would fail.
GRANDFATHERED = "old-rules@intranet"


@pytest.fixture
def ws(tmp_path):
    ws = full_workspace(tmp_path)
    tl = ws.data.app("Shop").test_lists["QA"]
    ws.data.app("Shop").test_lists["QA"] = TestList.model_construct(
        addresses=[*tl.addresses, GRANDFATHERED], active=tl.active
    )
    ws.file.save(ws.data)
    return Workspace.open(locations(tmp_path), user="alice")


def test_toggling_checks_no_address(ws):
    saved = ws.set_test_list_active("Shop", "QA", False)
    assert GRANDFATHERED in saved.addresses and saved.active is False


def test_adding_checks_only_the_new_address(ws):
    assert ws.add_to_test_list("Shop", "QA", ["new@example.com"]) == ["new@example.com"]
    with pytest.raises(InvalidInput, match="not-an-address"):
        ws.add_to_test_list("Shop", "QA", ["not-an-address"])
    assert ws.data.app("Shop").test_list("QA").addresses[-2:] == [
        GRANDFATHERED,
        "new@example.com",
    ]


def test_the_editors_save_checks_only_addresses_not_stored(ws):
    current = ws.data.app("Shop").test_list("QA").addresses
    saved = ws.save_test_list("Shop", "QA", [*current, "Typed@EXAMPLE.com"], True)
    assert saved.addresses[-1] == "Typed@example.com"  # a new one is normalized
    assert GRANDFATHERED in saved.addresses
    with pytest.raises(InvalidInput):
        ws.save_test_list("Shop", "QA", [*current, "bad address"], True)


def test_removing_checks_nothing_and_audits_what_went(ws):
    assert ws.remove_from_test_list("Shop", "QA", [GRANDFATHERED]) == [GRANDFATHERED]
    event = ws.data.audit[-1]
    assert event.details["removed"] == [GRANDFATHERED] and "added" not in event.details
    reopened = Workspace.open(ws.file.locations)
    assert GRANDFATHERED not in reopened.data.app("Shop").test_list("QA").addresses
