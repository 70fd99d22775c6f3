"""prepare() reads a plain header (CRLF, fields and their continuations) without the
email parser and keeps the app's field lines as they came: what it decides (recipients,
routing, Message-ID, Subject, the fields added) and the message's meaning are those of
the parser's reading, for any header; any other header takes the parser's way."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import compat32

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailstage.relay import message as relay_message
from mailstage.relay.message import PreparedMessage, prepare
from tests.loopback import app, basic_config, stage

CONFIG = basic_config(2525)
NAMES = ["Subject", "To", "Cc", "Bcc", "From", "Date", "Message-ID", "X-Tag", "subject", "TO"]


def both(content: bytes, active: bool) -> tuple[PreparedMessage, PreparedMessage]:
    shop = app(test_list=["qa1@example.com", "qa2@example.com"], active=active)
    args = (["a@buyers.example", "b@buyers.example"],)
    fast = prepare(content, *args, app=shop, stage=stage(), config=CONFIG)
    plain = relay_message._plain_header
    try:
        relay_message._plain_header = lambda content: (None, b"")  # type: ignore[assignment]
        slow = prepare(content, *args, app=shop, stage=stage(), config=CONFIG)
    finally:
        relay_message._plain_header = plain
    return fast, slow


def reading(data: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """The fields (values unfolded, Date and Message-ID as present or not) and body."""
    parsed = BytesParser(policy=compat32).parsebytes(data)
    fields = [
        (name.lower(), "set" if name.lower() in ("date", "message-id") else " ".join(value.split()))
        for name, value in parsed.raw_items()
    ]
    body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    return fields, body


def assert_alike(fast: PreparedMessage, slow: PreparedMessage) -> None:
    assert fast.recipients == slow.recipients
    assert fast.redirected == slow.redirected
    assert fast.subject == slow.subject
    if "mailstage" not in slow.message_id:  # the app's own (an added one is new each time)
        assert fast.message_id == slow.message_id
    assert reading(fast.data) == reading(slow.data)


def test_the_apps_fields_are_kept_as_they_came() -> None:
    long_subject = "Subject: " + "word " * 30
    content = (
        f"From: shop@shop.example\r\n{long_subject}\r\nTo: a@buyers.example,\r\n"
        " b@buyers.example\r\nBcc: hidden@buyers.example\r\n\r\nbody\nline\r\n"
    ).encode()
    fast, slow = both(content, active=False)
    assert long_subject.encode() + b"\r\n" in fast.data  # not folded again
    assert b"To: a@buyers.example,\r\n b@buyers.example\r\n" in fast.data
    assert b"Bcc" not in fast.data
    assert fast.data.endswith(b"\r\n\r\nbody\r\nline\r\n")
    assert_alike(fast, slow)


@pytest.mark.parametrize("active", [False, True])
@pytest.mark.parametrize(
    "content",
    [
        b"Subject: hi\r\n\r\nbody\r\n",
        b"Subject: hi\r\nTo: x@y.example\r\n",  # no body
        b"Subject: hi",
        b"\r\nno header at all\r\n",
        b"Subject: hi\nTo: x@y.example\n\nbare LF\n",
        b"Subject : spaced\r\n\r\nbody\r\n",
        b"From someone\r\nSubject: hi\r\n\r\nbody\r\n",
        b" continued first\r\nSubject: hi\r\n\r\nb\r\n",
        b"Subject:\r\n folded only\r\n\r\nb\r\n",
        b"Subject: =?utf-8?q?caf=C3=A9?=\r\nMessage-ID: <m1@shop.example>\r\n\r\nb\r\n",
        "Subject: café\r\n\r\nb\r\n".encode(),
    ],
)
def test_headers_of_every_shape_read_as_the_parser_reads_them(content: bytes, active: bool) -> None:
    assert_alike(*both(content, active))


field_name = st.sampled_from(NAMES) | st.text(alphabet="abXY-:09 ", min_size=1, max_size=6)
field_value = st.text(alphabet='abc xyz@<>,.=?\t:;"()-', max_size=90)
continuation = st.sampled_from(["", "\r\n more", "\r\n\tand more", "\n bare"])


@settings(max_examples=400, deadline=None)
@given(
    fields=st.lists(st.tuples(field_name, field_value, continuation), max_size=8),
    body=st.sampled_from(["", "\r\n\r\nbody\r\n", "\r\n\r\n.dot\nbare\r", "\r\n"]),
    active=st.booleans(),
)
def test_any_header_decides_as_the_parser_decides(
    fields: list[tuple[str, str, str]], body: str, active: bool
) -> None:
    header = "\r\n".join(f"{name}:{value}{more}" for name, value, more in fields)
    assert_alike(*both((header + body).encode(), active))


field_names = st.sampled_from(["Date", "Message-ID", "From", "To", "X-Original-To", "Subject"])
field_values = st.text(alphabet=' !"#(),.:;<>@[]\\=?^_`{|}~Az09-\té', max_size=90)


@settings(max_examples=3000, deadline=None)
@given(name=field_names, value=field_values)
def test_a_field_is_written_as_the_generator_folds_it(name: str, value: str) -> None:
    """The short plain value written as it is: byte for byte the generator's folding."""
    written = relay_message.written_field(name, value)
    assert written == compat32.clone(linesep="\r\n").fold_binary(name, value)


@settings(max_examples=2000, deadline=None)
@given(value=field_values)
def test_a_header_reads_as_the_decoder_reads_it(value: str) -> None:
    """A header without encoded words read as it is: the decoder's reading."""
    from email.header import decode_header, make_header
    from email.message import EmailMessage

    message = EmailMessage(policy=compat32)
    message.set_raw("Subject", value)
    try:
        decoded = str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        decoded = value
    assert relay_message._header_text(message, "Subject") == " ".join(decoded.split())
