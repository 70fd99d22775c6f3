"""Kind 10: loose input. Invisible and direction-changing characters in names, non-ASCII
digits as a port, unbounded fields, huge values echoed whole, and sentences that were not
true. The rules live in one table (store.validation.FIELDS) used by the models and by the
TUI's inline checks; hypothesis tries them, the CLI and the TUI show the same sentence."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailstage.store import validation as rules
from mailstage.store.errors import InvalidInput
from mailstage.store.fields import FIELD_LABELS
from mailstage.store.models import App, EmailConfig, Stage, validate_model
from tests.cli_runner import run_cli

INVISIBLE = [
    "\u200b",  # zero width space
    "\u200c",  # zero width non-joiner
    "\u200d",  # zero width joiner: Prod\u200duction
    "\u200e",  # left-to-right mark
    "\u200f",  # right-to-left mark
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",  # right-to-left override
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",  # isolates
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\u180e",  # Mongolian vowel separator
    "\u3164",  # Hangul filler: draws nothing
    "\ufe0f",  # variation selector
    "\U000e0041",  # tag latin capital A
    "\x1b",
    "\x07",
    "\x85",
    "\u2028",
]
ODD_SPACES = ["\u00a0", "\u2009", "\u3000", "\u202f"]
NAMED_FIELDS = ["name", "stage", "app", "role", "user", "sender_name", "username", "client_id"]
FAST = settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow], deadline=None)

visible_name = st.text(
    alphabet=st.characters(categories=("Lu", "Ll", "Nd"), max_codepoint=0x2FFF),
    min_size=2,
    max_size=30,
)


# -- the one table ----------------------------------------------------------------------------


def test_every_field_of_the_table_has_a_label_and_the_form_uses_the_table():
    from mailstage.screens.email_form import ALL_FIELDS

    assert set(rules.FIELDS) <= set(FIELD_LABELS)
    assert set(ALL_FIELDS) <= set(rules.FIELDS)


@FAST
@given(name=visible_name, mark=st.sampled_from(INVISIBLE + ODD_SPACES), at=st.integers(1, 29))
def test_an_invisible_character_anywhere_in_a_name_is_refused_by_name(name, mark, at):
    at = min(at, len(name) - 1)
    value = name[:at] + mark + name[at:]
    for key in NAMED_FIELDS:
        with pytest.raises(ValueError) as info:
            rules.check_field(key, value)
        sentence = str(info.value)
        assert "must not contain" in sentence or "ordinary space" in sentence
        assert f"U+{ord(mark):04X}" in sentence or "control characters" in sentence
    for model in (App, Stage):
        with pytest.raises(InvalidInput) as error:
            validate_model(model, {"name": value})
        assert error.value.problems[0][0] == "name"


def test_production_with_a_zero_width_joiner_is_not_a_second_production():
    with pytest.raises(ValueError, match=r"U\+200D ZERO WIDTH JOINER"):
        rules.check_field("stage", "Prod\u200duction")


@FAST
@given(
    value=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
)
def test_what_a_name_rule_accepts_shows_as_itself(value):
    for key in NAMED_FIELDS:
        try:
            cleaned = rules.check_field(key, value)
        except ValueError as exc:
            assert str(exc)
            continue
        assert rules.hidden_character(cleaned) is None
        assert all(ch == " " or not ch.isspace() for ch in cleaned)
        assert len(cleaned) <= rules.FIELDS[key].limit


@pytest.mark.parametrize(
    ("key", "too_long"),
    [
        ("name", "n" * (rules.MAX_NAME + 1)),
        ("user", "u" * (rules.MAX_LOGIN + 1)),
        ("sender_name", "s" * (rules.MAX_SENDER_NAME + 1)),
        ("username", "u" * (rules.MAX_USERNAME + 1)),
        ("client_id", "c" * (rules.MAX_CLIENT_ID + 1)),
        ("password", "p" * (rules.MAX_SECRET + 1)),
        ("client_secret", "p" * (rules.MAX_SECRET + 1)),
        ("token_url", "https://login.example.com/" + "t" * rules.MAX_URL),
        ("ca_file", "/etc/" + "c" * rules.MAX_PATH),
        ("server", "a." * 130 + "example.com"),
        ("sender_email", "a" * 250 + "@example.com"),
        ("scopes", ["s" * (rules.MAX_SCOPE + 1)]),
        ("scopes", [f"scope-{n}" for n in range(rules.MAX_SCOPES + 1)]),
    ],
)
def test_every_field_has_a_length_cap(key, too_long):
    with pytest.raises(ValueError, match="too long|too many"):
        rules.check_field(key, too_long)


def test_the_longest_allowed_values_are_accepted():
    assert rules.check_field("name", "n" * rules.MAX_NAME)
    assert rules.check_field("scopes", [f"s{n}" for n in range(rules.MAX_SCOPES)])
    assert rules.check_field("scopes", ["s" * rules.MAX_SCOPE])


# -- ports -------------------------------------------------------------------------------------

unicode_digits = st.characters(categories=("Nd", "No")).filter(lambda ch: not ch.isascii())


@FAST
@given(digits=st.lists(unicode_digits, min_size=1, max_size=5), prefix=st.sampled_from(["", "5"]))
def test_a_port_in_other_digits_is_refused_with_the_rule(digits, prefix):
    value = prefix + "".join(digits)
    with pytest.raises(ValueError) as info:
        rules.check_port(value)
    assert str(info.value) == rules.PORT_RULE
    assert "invalid literal" not in str(info.value)


@FAST
@given(port=st.text(alphabet="0123456789", min_size=1, max_size=8))
def test_a_port_in_ascii_digits_is_read_as_written(port):
    number = int(port)
    ok = len(port) <= 5 and 1 <= number <= 65535 and number != 25
    try:
        assert rules.check_port(port) == number
        assert ok
    except ValueError:
        assert not ok


@pytest.mark.parametrize(
    "port", ["²", "٣", "５８７", "5\u0668\u0667", "¼", "587 ", "+587", "0x24b"]
)
def test_the_cli_refuses_a_port_in_other_digits(initialized, port):
    before = initialized["store"].read_bytes()
    result = run_cli(
        *("email", "set", "QA", "--server", "smtp.example.com", "--auth", "basic"),
        *("--username", "u", "--sender-email", "a@example.com", "--password-stdin"),
        *("--port", port),
        input="pw\n",
    )
    if port == "587 ":  # surrounding spaces are forgiven, as in the form
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 3, result.stderr
    assert "SMTP port (--port) must be a whole number from 1 to 65535, in the digits 0-9" in (
        result.stderr
    )
    assert "invalid literal" not in result.stderr
    assert initialized["store"].read_bytes() == before


@pytest.mark.parametrize(
    "argv",
    [
        ["sink", "--port", "²"],
        ["sink", "--port", "٣٣٣٣"],
        ["audit", "--limit", "٣"],
        ["email", "send-test", "QA", "--timeout", "٣"],
        ["relay", "QA", "--upstream-connections", "٣"],
        ["relay", "QA", "--max-size", "1٠٠٠"],
        ["sink", "--max-connections", "٣"],
    ],
)
def test_numbers_in_other_options_are_ascii_digits_only(initialized, argv):
    """Refused before anything starts (no server is left listening)."""
    result = run_cli(*argv, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "in the digits 0-9" in result.stderr
    assert "invalid literal" not in result.stderr and "Traceback" not in result.stderr


# -- huge values are never echoed whole -------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["stage", "add", "X" * 131_000],
        ["app", "add", "\u202e" + "Y" * 131_000],
        ["testlist", "show", "Z" * 131_000, "--stage", "QA"],
        ["testlist", "add", "Shop", "--stage", "QA", "w" * 131_000],
        ["email", "set", "QA", "--security", "v" * 131_000],
        ["email", "show", "S" * 131_000],
    ],
    ids=["stage", "app", "testlist-app", "address", "choice", "email-stage"],
)
def test_a_huge_bad_value_is_cut_in_the_message(initialized, argv):
    run_cli("app", "add", "Shop")
    result = run_cli(*argv)
    assert result.returncode in (2, 3), result.stderr
    assert len(result.stderr) < 2000, len(result.stderr)
    assert "characters" in result.stderr  # says how long it was
    assert "\u202e" not in result.stderr


@FAST
@given(junk=st.text(min_size=300, max_size=3000))
def test_an_address_list_names_a_bad_address_in_at_most_a_short_quote(junk):
    try:
        validate_model(App, {"name": "Shop", "studio_list": ["ok@example.com", junk]})
    except InvalidInput as exc:
        assert len(exc.message) < 600
        assert rules.hidden_character(exc.message.replace("\n", " ")) is None


# -- the form and the models say the same thing -------------------------------------------------


@FAST
@given(
    field=st.sampled_from(["server", "port", "sender_email", "sender_name", "username"]),
    value=st.text(max_size=40) | st.sampled_from(["Prod\u200duction", "²", "a@b\u202e.com"]),
)
def test_the_model_refuses_exactly_what_the_form_marks(field, value):
    broken = rules.broken_rule(field, value)
    data = {
        "server": "smtp.example.com",
        "port": 587,
        "sender_email": "a@example.com",
        "auth": {"type": "basic", "username": "u", "password": "p"},
    }
    if field == "username":
        data["auth"] = {**data["auth"], "username": value}
    else:
        data[field] = value
    try:
        validate_model(EmailConfig, data)
    except InvalidInput as exc:
        assert broken is not None
        assert broken.rstrip(".") in exc.message
    else:
        assert broken is None


async def test_the_tui_form_shows_the_cli_sentence_for_an_invisible_character(tmp_path):
    from mailstage.screens.email_form import EmailFormScreen
    from mailstage.screens.widgets import Field
    from tests.test_tui_apps_support import HarnessApp, make_store, settle

    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: EmailFormScreen("QA"))
    value = "Shop\u202eAQ"
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot, EmailFormScreen)
        app.screen.query_one("#sender_name").value = value
        await pilot.pause()
        field = app.screen.query_one("#field-sender_name", Field)
        shown = " ".join(field.error.split())
    broken = rules.broken_rule("sender_name", value)
    assert broken is not None and "U+202E" in broken
    assert f"Sender name {broken}" in shown
    expected = f"Sender name (--sender-name) {broken}"
    cli = run_cli(
        "--store",
        str(tmp_path / "store.json"),
        "--key-file",
        str(tmp_path / "key"),
        "email",
        "set",
        "QA",
        *("--server", "smtp.example.com", "--auth", "basic", "--username", "u"),
        *("--sender-email", "a@example.com", "--password-stdin", "--sender-name", value),
        input="pw\n",
    )
    assert cli.returncode == 3 and expected in cli.stderr
    assert unicodedata.lookup("RIGHT-TO-LEFT OVERRIDE") not in cli.stderr


@pytest.mark.parametrize("listen", ["127.0.0.1:²", "127.0.0.1:١٥٨٧", "127.0.0.1:" + "9" * 5000])
def test_the_relay_listen_port_is_ascii_digits_only(initialized, listen):
    result = run_cli("relay", "QA", "--listen", listen, timeout=30)
    assert result.returncode == 3, result.stderr
    assert "Listen address (listen) must be HOST:PORT" in result.stderr
    assert "Traceback" not in result.stderr and "Unexpected" not in result.stderr
