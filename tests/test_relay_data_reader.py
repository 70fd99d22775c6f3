"""The relay's own reading of DATA (relay/data_reader.py) and its own sending of it
(mailer/smtp_data.py), against the rules of RFC 5321 and against the libraries they
replace: what aiosmtpd made of the app's lines, what aiosmtplib put on the wire. The
reader is fed the bytes an app sends in pieces of every size, as the connection's
reads bring them."""

from __future__ import annotations

from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
from hypothesis import given, settings
from hypothesis import strategies as st

from mailstage.mailer.smtp_data import chunks, wire_form
from mailstage.relay.data_reader import MessageReader, Received

LINE_LIMIT = 1001  # aiosmtpd's line_length_limit, kept


def read_all(
    wire: bytes, *, piece: int = 4096, size_limit: int | None = None
) -> tuple[Received, bytes] | None:
    """The reader's answer and what came after the end; None when the wire ends first
    (the app hung up)."""
    reader = MessageReader(size_limit=size_limit, line_limit=LINE_LIMIT)
    for start in range(0, len(wire), piece):
        done = reader.feed(wire[start : start + piece])
        if done is not None:
            received, rest = done
            return received, rest + wire[start + piece :]
    return None


def read(wire: bytes, *, piece: int = 4096, size_limit: int | None = None) -> Received:
    done = read_all(wire, piece=piece, size_limit=size_limit)
    assert done is not None, "the reader did not find the end"
    return done[0]


def as_sent(lines: list[bytes]) -> bytes:
    """What an app puts on the wire for these lines (each without its CRLF)."""
    stuffed = [b"." + line if line.startswith(b".") else line for line in lines]
    return b"".join(line + b"\r\n" for line in stuffed) + b".\r\n"


def as_aiosmtpd_kept(lines: list[bytes]) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


def test_an_empty_message_ends_at_the_first_line():
    for piece in (1, 2, 4096):
        done = read_all(b".\r\nMAIL FROM:<next@example.org>\r\n", piece=piece)
        assert done == (Received(b""), b"MAIL FROM:<next@example.org>\r\n")


def test_the_end_is_a_line_holding_only_a_dot():
    lines = [b"Subject: dots", b"", b"ends with a dot.", b"..two", b". one", b".", b"x."]
    received = read(as_sent(lines), piece=3)
    assert received.content == as_aiosmtpd_kept(lines)


def test_nothing_after_the_end_is_taken():
    for piece in (1, 5, 4096):
        done = read_all(b"Subject: a\r\n\r\nbody\r\n.\r\nQUIT\r\n", piece=piece)
        assert done == (Received(b"Subject: a\r\n\r\nbody\r\n"), b"QUIT\r\n")


def test_a_line_of_999_characters_passes_one_of_1000_is_refused():
    # aiosmtpd's own rule, kept: a line with its CRLF longer than 1001 bytes is refused
    ok = read(as_sent([b"Subject: a", b"", b"y" * 999]))
    assert ok.content is not None
    refused = read(as_sent([b"Subject: a", b"", b"y" * 1000, b"after"]))
    assert refused == Received(None, "too_long")
    first_line = read(as_sent([b"S" * 1000]))
    assert first_line == Received(None, "too_long")


def test_too_much_is_read_to_its_end_and_refused():
    lines = [b"x" * 70] * 100
    for piece in (1, 7, 300, 100_000):
        done = read_all(as_sent(lines) + b"RSET\r\n", piece=piece, size_limit=2048)
        assert done == (Received(None, "too_much"), b"RSET\r\n")  # in step again
    at_the_limit = as_sent([b"x" * 70] * 10)
    assert read(at_the_limit, size_limit=len(at_the_limit) - 3).content is not None
    assert read(at_the_limit, size_limit=len(at_the_limit) - 4).content is None


def test_a_hang_up_before_the_end_is_no_message():
    assert read_all(b"Subject: a\r\n\r\nhalf a mess", piece=3) is None


line_text = st.binary(max_size=120).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b""))
dotty_lines = st.lists(
    st.one_of(line_text, st.sampled_from([b".", b"..", b". x", b"x.", b""])), max_size=60
)


@settings(max_examples=150, deadline=None)
@given(lines=dotty_lines, piece=st.integers(min_value=1, max_value=700))
def test_what_arrives_is_what_aiosmtpd_kept(lines, piece):
    received = read(as_sent(lines), piece=piece)
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
