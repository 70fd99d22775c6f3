"""Envelope version 2: v1 files upgraded on save, sections pinned by the header,
unchanged sections written again as they were."""

from __future__ import annotations

import pytest

from mailstage.store import envelope
from mailstage.store.errors import StoreUnreadable
from mailstage.store.filestore import StoreFile
from mailstage.store.models import App, TestList
from mailstage.store.sections import APP_CHUNK
from mailstage.store.workspace import Workspace
from tests.store_factory import PASSWORD, full_workspace, locations
from tests.store_versions import rewrite_as_v1


def _sections(loc):
    raw = loc.store.read_bytes()
    header = envelope.parse_prefix(raw, loc.store)
    return header, {i: raw[s.offset : s.offset + s.length] for i, s in enumerate(header.sections)}


def _many_apps(ws: Workspace, count: int) -> None:
    for i in range(count):
        lists = {"QA": TestList.model_construct(addresses=[f"u{i}@example.com"], active=False)}
        ws.data.apps.append(App.model_construct(name=f"Bulk {i}", test_lists=lists, studio_list=[]))
    ws.file.save(ws.data)


def test_a_version_1_store_opens_and_is_written_as_version_2_on_its_next_save(tmp_path):
    ws = full_workspace(tmp_path)
    loc = locations(tmp_path)
    rewrite_as_v1(loc)
    old = Workspace.open(loc, user="alice")
    assert old.file.version == 1
    assert old.data == ws.data
    old.add_app("After upgrade")
    assert envelope.is_v2(loc.store.read_bytes())
    again = Workspace.open(loc, user="alice")
    assert again.file.version == 2
    assert again.data.stage("QA").email.auth.password.get_secret_value() == PASSWORD
    assert [a.name for a in again.data.apps] == [a.name for a in old.data.apps]
    assert again.data.audit == old.data.audit


def test_a_section_from_an_older_generation_is_refused(tmp_path):
    ws = full_workspace(tmp_path)
    loc = locations(tmp_path)
    _, before = _sections(loc)
    ws.set_test_list_active("Shop", "QA", False)  # the apps section is sealed anew...
    ws.set_test_list_active("Shop", "QA", True)  # ...twice, back to the same content
    raw = loc.store.read_bytes()
    header, after = _sections(loc)
    apps_at = next(i for i, s in enumerate(header.sections) if s.kind == "apps")
    assert before[apps_at] != after[apps_at] and len(before[apps_at]) == len(after[apps_at])
    start = header.sections[apps_at].offset
    swapped = raw[:start] + before[apps_at] + raw[start + len(before[apps_at]) :]
    loc.store.write_bytes(swapped)
    with pytest.raises(StoreUnreadable):
        StoreFile.open(loc)


def test_a_toggle_rewrites_only_the_section_of_its_app(tmp_path):
    ws = full_workspace(tmp_path)
    _many_apps(ws, 3 * APP_CHUNK)
    loc = locations(tmp_path)
    ws = Workspace.open(loc, user="alice")  # the cache starts from the file's own sections
    header, before = _sections(loc)
    ws.set_test_list_active("Bulk 40", "QA", True)  # in the second apps section
    header2, after = _sections(loc)
    kinds = [s.kind for s in header2.sections]
    apps = [i for i, k in enumerate(kinds) if k == "apps"]
    changed = [i for i in apps if before[i] != after[i]]
    assert changed == [apps[1]]
    assert before[0] != after[0]  # the core carries the new generation
    again = Workspace.open(loc, user="alice")
    assert again.data.app("Bulk 40").test_list("QA").active is True
    assert again.data.app("Bulk 41").test_list("QA").active is False
    assert again.data == ws.data


def test_a_save_without_a_hint_writes_every_apps_section_anew(tmp_path):
    ws = full_workspace(tmp_path)
    _many_apps(ws, 2 * APP_CHUNK)
    loc = locations(tmp_path)
    _, before = _sections(loc)
    ws.data.apps[5].studio_list.append("inplace@example.com")  # changed in place, unannounced
    ws.file.save(ws.data)
    header, after = _sections(loc)
    apps = [i for i, s in enumerate(header.sections) if s.kind == "apps"]
    assert all(before[i] != after[i] for i in apps)
    assert "inplace@example.com" in Workspace.open(loc).data.apps[5].studio_list
