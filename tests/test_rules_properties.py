"""Property tests: the field rules never crash, name the field, and let nothing through that
a mail server could misread; store round trips keep every value."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from mailstage.store import validation as rules
from mailstage.store.errors import InvalidInput
from mailstage.store.fields import describe
from mailstage.store.filestore import StoreFile
from mailstage.store.models import App, EmailConfig, StoreData, TestList, validate_model
from tests.store_factory import locations

LINE_BREAKS = ("\r", "\n", "\x00", "\u2028", "\x85")
nasty = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300
) | st.sampled_from(
    [
        "a@b.com\r\nBcc: x@evil.test",
        "x" * 5000,
        "smtp.example.com\n",
        "'; DROP TABLE--",
        "<script>",
        "=?utf-8?q?x?=",
        "\x1b[31m",
    ]
)
FIELDS = [
    "server",
    "port",
    "sender_email",
    "sender_name",
    "username",
    "password",
    "token_url",
    "client_id",
    "client_secret",
    "scopes",
]


def _config(field: str, value: str) -> dict:
    basic = {"type": "basic", "username": "u", "password": "p"}
    oauth = {
        "type": "oauth2_client_credentials",
        "client_id": "id",
        "client_secret": "s",
        "token_url": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
    }
    data = {
        "server": "smtp.example.com",
        "port": 587,
        "sender_email": "a@example.com",
        "sender_name": "",
        "auth": oauth if field in oauth or field == "scopes" else basic,
    }
    if field in ("username", "password", "token_url", "client_id", "client_secret"):
        data["auth"] = {**data["auth"], field: value}
    elif field == "scopes":
        data["auth"] = {**data["auth"], "scopes": [value]}
    else:
        data[field] = value
    return data


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(field=st.sampled_from(FIELDS), value=nasty)
def test_every_form_field_rejects_by_name_or_accepts_safely(field, value):
    try:
        config = validate_model(EmailConfig, _config(field, value))
    except InvalidInput as exc:
        assert exc.problems and exc.problems[0][0] == field, (exc.problems, field)
        assert exc.message.startswith(describe(field, "").rstrip("."))  # label (--option)
        return
    dumped = config.model_dump(mode="json", context={"reveal_secrets": True})
    header_values = [
        dumped["server"],
        dumped["sender_email"],
        dumped["sender_name"],
        *(str(v) for v in dumped["auth"].values()),
    ]
    for text in header_values:
        assert not any(ch in text for ch in LINE_BREAKS), text


@given(value=nasty)
def test_addresses_accepted_are_single_line_and_contain_an_at(value):
    try:
        address = rules.check_address(value)
    except ValueError as exc:
        assert str(exc)
        return
    assert "@" in address and not any(ch in address for ch in LINE_BREAKS)
    assert len(address) <= rules.MAX_ADDRESS


@given(port=st.integers(min_value=-10, max_value=70000))
def test_port_rule(port):
    ok = 1 <= port <= 65535 and port != 25
    try:
        assert rules.check_port(port) == port and ok
    except ValueError as exc:
        assert not ok
        assert ("spammers" in str(exc)) == (port == 25)


@given(addresses=st.lists(st.emails(), max_size=20))
def test_test_lists_deduplicate_ignoring_case(addresses):
    mixed = addresses + [a.upper() for a in addresses]
    try:
        tl = TestList(addresses=mixed)
    except ValueError:
        return  # hypothesis can generate addresses email-validator rejects (e.g. long labels)
    keys = [a.casefold() for a in tl.addresses]
    assert len(keys) == len(set(keys))


name = st.text(
    alphabet=string.ascii_letters + string.digits + " -_", min_size=1, max_size=20
).filter(lambda s: s.strip())
local = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=10)


@settings(
    max_examples=15,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(
    apps=st.lists(
        st.tuples(name, st.lists(local, max_size=8), st.booleans()),
        max_size=6,
        unique_by=lambda t: t[0].strip().casefold(),
    ),
    password=st.text(min_size=1, max_size=40).filter(
        lambda s: not any(ch in s for ch in LINE_BREAKS) and rules._CONTROL.search(s) is None
    ),
)
def test_store_round_trip_keeps_everything(tmp_path_factory, apps, password):
    loc = locations(tmp_path_factory.mktemp("rt"))
    data = StoreData()
    data.stages[1].email = EmailConfig(
        server="smtp.example.com",
        sender_email="qa@example.com",
        auth={"type": "basic", "username": "u", "password": SecretStr(password)},
    )
    for app_name, locals_, active in apps:
        data.apps.append(
            App(
                name=app_name,
                test_lists={
                    "QA": TestList(addresses=[f"{x}@example.com" for x in locals_], active=active)
                },
            )
        )
    StoreFile.create(loc, data)
    _, loaded = StoreFile.open(loc)
    assert loaded == data
    assert loaded.stages[1].email.auth.password.get_secret_value() == password


@given(pasted=nasty)
def test_a_pasted_block_of_addresses_never_crashes_and_names_each_rejection(pasted):
    parts = rules.split_pasted_addresses(pasted)
    good, problems = rules.normalize_addresses(parts)
    assert len(good) + len(problems) <= len(parts)
    for raw, why in problems:
        assert raw in parts and why
    for address in good:
        assert not any(ch in address for ch in LINE_BREAKS) and "@" in address
        assert not any(ch.isspace() for ch in address)
    try:
        TestList(addresses=parts)
    except ValueError as exc:
        assert problems and "addresses" in str(exc)
    else:
        assert not problems
