"""relay/app_lookup.py finds the app StoreData.app finds, for every spelling, and an
index built for one loaded store never answers for another."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mailstage.relay.app_lookup import app_named
from mailstage.store.models import App, StoreData

NAMES = st.lists(
    st.text(alphabet="abcXYZ-_ 1ßİ", min_size=1, max_size=6).filter(lambda n: n.strip() == n),
    max_size=12,
    unique_by=str.casefold,
)


def store_of(names: list[str]) -> StoreData:
    return StoreData.model_construct(apps=[App.model_construct(name=n) for n in names])


@given(NAMES, st.text(alphabet="abcXYZ-_ 1ßİ", max_size=6))
def test_the_same_app_as_the_walk(names: list[str], asked: str) -> None:
    data = store_of(names)
    for name in [asked, *names, *(n.upper() for n in names), *(n.lower() for n in names)]:
        assert app_named(data, name) is data.app(name)


def test_another_loaded_store_gets_its_own_index() -> None:
    before, after = store_of(["Shop", "Portal"]), store_of(["Portal", "Billing"])
    assert app_named(before, "shop") is before.apps[0]
    assert app_named(after, "shop") is None  # removed by the save the relay read
    assert app_named(after, "BILLING") is after.apps[1]
    assert app_named(before, "portal") is before.apps[1]  # not the other store's Portal
