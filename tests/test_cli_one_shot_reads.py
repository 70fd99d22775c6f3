"""`email show`, `stage list` and `testlist show` read the header, the core section and
(for a test list) the one apps section that holds the app, and print what the full
load would have printed."""

from __future__ import annotations

import json
from datetime import UTC

from hypothesis import given
from hypothesis import strategies as st

from mailstage.store import envelope
from mailstage.store.models import App, TestList
from mailstage.store.sections import APP_CHUNK
from mailstage.store.workspace import Workspace
from tests.cli_runner import run_cli
from tests.store_factory import CLIENT_SECRET, PASSWORD, full_workspace, locations
from tests.store_versions import rewrite_as_v1


def _env(monkeypatch, tmp_path):
    loc = locations(tmp_path)
    monkeypatch.setenv("MAILSTAGE_STORE", str(loc.store))
    monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(loc.key_file))
    return loc


def _model_view(ws: Workspace, stage_name: str) -> dict:
    stage = ws.stage(stage_name)
    if stage.email is None:
        return {"stage": stage.name}
    return {"stage": stage.name, **stage.email.model_dump(mode="json")}


def test_email_show_json_matches_the_models_dump_with_secrets_masked(tmp_path, monkeypatch):
    ws = full_workspace(tmp_path)
    _env(monkeypatch, tmp_path)
    for version in (2, 1):
        if version == 1:
            rewrite_as_v1(locations(tmp_path))
        for name in ("QA", "Production"):
            result = run_cli("email", "show", name.lower(), "--json")
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout) == _model_view(ws, name)
            assert PASSWORD not in result.stdout and CLIENT_SECRET not in result.stdout
        text = run_cli("email", "show", "QA").stdout
        assert "smtp.example.com" in text and "Password:" in text and PASSWORD not in text


def test_unknown_stage_and_app_say_so_as_before(tmp_path, monkeypatch):
    full_workspace(tmp_path)
    _env(monkeypatch, tmp_path)
    result = run_cli("email", "show", "Staging")
    assert result.returncode == 3
    assert "'Staging' does not exist (stages: Development, QA, Production)" in result.stderr
    result = run_cli("testlist", "show", "Nope", "--stage", "QA")
    assert result.returncode == 3 and "mailstage app add NAME" in result.stderr


def test_testlist_show_decrypts_only_the_section_that_holds_the_app(tmp_path, monkeypatch):
    ws = full_workspace(tmp_path)
    for i in range(2 * APP_CHUNK):
        lists = {"QA": TestList.model_construct(addresses=[f"u{i}@example.com"], active=True)}
        ws.data.apps.append(App.model_construct(name=f"Bulk {i}", test_lists=lists, studio_list=[]))
    ws.file.save(ws.data)
    loc = _env(monkeypatch, tmp_path)
    raw = bytearray(loc.store.read_bytes())
    header = envelope.parse_prefix(bytes(raw), loc.store)
    last_apps = header.of_kind("apps")[-1]  # holds the last Bulk apps, not Shop
    raw[last_apps.offset + 5] ^= 0x10
    loc.store.write_bytes(bytes(raw))

    shop = run_cli("testlist", "show", "Shop", "--stage", "QA", "--json")
    assert shop.returncode == 0, shop.stderr
    assert json.loads(shop.stdout) == {
        "app": "Shop",
        "stage": "QA",
        "active": True,
        "addresses": ["tester1@example.com", "tester2@example.com"],
    }
    assert run_cli("stage", "list").returncode == 0
    damaged = run_cli("testlist", "show", f"Bulk {2 * APP_CHUNK - 1}", "--stage", "QA")
    assert damaged.returncode == 5 and "damaged" in damaged.stderr
    assert run_cli("member", "list").returncode == 5  # the full load reads every section


@given(
    st.lists(st.one_of(st.text(alphabet="aAßsS\u0130i\0x é", max_size=3), st.integers())),
    st.text(alphabet="aAßsS\u0130i\0x é", max_size=3),
)
def test_the_joined_search_finds_the_app_the_loop_finds(names, name):
    """reader.index_ignoring_case searches the names joined; the loop it replaced is the
    reference: the first text that casefolds to the key, or None."""
    from mailstage.store.reader import index_ignoring_case

    key = name.casefold()
    expected = next(
        (at for at, n in enumerate(names) if isinstance(n, str) and n.casefold() == key), None
    )
    assert index_ignoring_case(names, key) == expected


@given(st.datetimes(timezones=st.just(UTC)))
def test_a_stored_moment_reads_as_datetime_reads_it(moment):
    """`email show`'s "Last changed" without datetime (store/text.py utc_minute_text):
    every moment the models write in UTC, and what datetime says for it."""
    from mailstage.store.text import utc_minute_text, when_text

    stamp = moment.isoformat().replace("+00:00", "Z")  # as pydantic writes it
    if moment.year < 1000:  # strftime writes "999": left to datetime
        assert utc_minute_text(stamp) is None
    else:
        assert utc_minute_text(stamp) == when_text(moment)


@given(st.text(alphabet="0123456789-T:.Z+", min_size=19, max_size=28))
def test_any_other_text_is_left_to_datetime(stamp):
    from datetime import datetime

    from mailstage.store.text import utc_minute_text, when_text

    minute = utc_minute_text(stamp)
    if minute is not None:  # then datetime reads the same moment
        assert minute == when_text(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
