"""The relay's own reading of DATA (relay/data_reader.py) and its own sending of it
(mailer/smtp_data.py), against the rules of RFC 5321 and against the libraries they
replace: what aiosmtpd made of the app's lines, what aiosmtplib put on the wire. A
real asyncio StreamReader with aiosmtpd's buffer limit, fed the bytes an app sends,
in pieces of every size."""

from __future__ import annotations

import asyncio

import pytest
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given, settings
from hypothesis import strategies as st

from mailstage.mailer.smtp_data import chunks, wire_form
from mailstage.relay.data_reader import Received, read_message

LINE_LIMIT = 1001  # aiosmtpd's line_length_limit, also its StreamReader's limit


async def read(wire: bytes, *, piece: int = 4096, size_limit: int | None = None) -> Received:
    reader = asyncio.StreamReader(limit=LINE_LIMIT)

    async def feed() -> None:
        for start in range(0, len(wire), piece):
            reader.feed_data(wire[start : start + piece])
            await asyncio.sleep(0)
        reader.feed_eof()

    feeding = asyncio.ensure_future(feed())
    try:
        return await read_message(reader, size_limit=size_limit, line_limit=LINE_LIMIT)
    finally:
        await feeding


def as_sent(lines: list[bytes]) -> bytes:
    """What an app puts on the wire for these lines (each without its CRLF)."""
    stuffed = [b"." + line if line.startswith(b".") else line for line in lines]
    return b"".join(line + b"\r\n" for line in stuffed) + b".\r\n"


def as_aiosmtpd_kept(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


async def test_an_empty_message_ends_at_the_first_line():
    assert (await read(b".\r\nMAIL FROM:<next@example.org>\r\n")).content == b""


async def test_the_end_is_a_line_holding_only_a_dot():
    lines = [b"Subject: dots", b"", b"ends with a dot.", b"..two", b". one", b".", b"x."]
    received = await read(as_sent(lines), piece=3)
    assert received.content == as_aiosmtpd_kept(lines)


async def test_nothing_after_the_end_is_taken():
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    reader.feed_data(b"Subject: a\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    received = await read_message(reader, size_limit=None, line_limit=LINE_LIMIT)
    assert received.content == b"Subject: a\r\n\r\nbody\r\n"
    assert await reader.readline() == b"QUIT\r\n"  # the next command is still there


async def test_a_line_of_999_characters_passes_one_of_1000_is_refused():
    # aiosmtpd's own rule, kept: a line with its CRLF longer than 1001 bytes is refused
    ok = await read(as_sent([b"Subject: a", b"", b"y" * 999]))
    assert ok.content is not None
    refused = await read(as_sent([b"Subject: a", b"", b"y" * 1000, b"after"]))
    assert refused == Received(None, "too_long")
    first_line = await read(as_sent([b"S" * 1000]))
    assert first_line == Received(None, "too_long")


async def test_too_much_is_read_to_its_end_and_refused():
    lines = [b"x" * 70] * 100
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    reader.feed_data(as_sent(lines) + b"RSET\r\n")
    received = await read_message(reader, size_limit=2048, line_limit=LINE_LIMIT)
    assert received == Received(None, "too_much")
    assert await reader.readline() == b"RSET\r\n"  # the app's stream is in step again


async def test_a_hang_up_before_the_end_raises():
    with pytest.raises(asyncio.IncompleteReadError):
        await read(b"Subject: a\r\n\r\nhalf a mess")


line_text = st.binary(max_size=120).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b""))
dotty_lines = st.lists(
    st.one_of(line_text, st.sampled_from([b".", b"..", b". x", b"x.", b""])), max_size=60
)


@settings(max_examples=150, deadline=None)
@given(lines=dotty_lines, piece=st.integers(min_value=1, max_value=700))
def test_what_arrives_is_what_aiosmtpd_kept(lines, piece):
    received = asyncio.run(read(as_sent(lines), piece=piece))
    assert received.content == as_aiosmtpd_kept(lines)


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=3000).map(lambda raw: raw.replace(b"\x00", b"")),
    size=st.integers(min_value=1, max_value=400),
)
def test_the_wire_form_is_what_aiosmtplib_sent(data, size):
    """In pieces ending at line ends, each made over on its own: the same bytes as
    aiosmtplib's data() made of the whole message at once."""
    pieces = [wire_form(data[begin:end]) for begin, end in chunks(data, size)]
    ours = b"".join(pieces)
    if ours and not ours.endswith(b"\r\n"):
        ours += b"\r\n"
    theirs = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data)) if data else b""
    assert ours == theirs
