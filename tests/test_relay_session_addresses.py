"""The relay reads the address in MAIL FROM and RCPT TO itself (relay/app_session.py:
`<local@domain>` without the header parser), and must read every argument exactly as
aiosmtpd, which it replaced, does (address and the rest, or a refusal), whatever the
form."""

from __future__ import annotations

from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from mailstage.relay.app_session import read_address

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
TRICKY = ATEXT + '.@<> \t"()[]:;,\\é'


def readings(arg: str, limit: int = 0) -> tuple[object, object]:
    theirs = SMTP.__new__(SMTP)
    theirs.local_part_limit = limit

    def read(reading: object) -> object:
        try:
            return reading(arg)  # type: ignore[operator]
        except Exception as exc:  # the parser fails on some inputs: the same way
            return type(exc)

    return read(theirs._getaddr), read(lambda text: read_address(text, limit))


def test_plain_addresses_and_their_parameters() -> None:
    for arg in (
        "<a@b.example>",
        "<first.last+tag@Example.COM> SIZE=100 BODY=8BITMIME",
        "<a@b.example>\tSIZE=1",
        "<a@b.example> (a comment) SIZE=1",
        "<a..b@c.example>",
        "<.a@b>",
        "<a@[192.0.2.1]>",
        "<>",
        " <a@b.example>",
        "<jörg@b.example>",
        "a@b.example",
    ):
        theirs, ours = readings(arg)
        assert theirs == ours, arg
    assert readings("<abcd@b.example>", limit=3) == ((None, None), (None, None))


@settings(max_examples=3000, deadline=None)
@given(
    inner=st.text(alphabet=TRICKY, max_size=16),
    after=st.sampled_from(["", " ", " SIZE=1", "x", "\t(c) X", " (c)", "(x)"]),
    limit=st.sampled_from([0, 4]),
)
def test_any_argument_reads_as_aiosmtpd_reads_it(inner: str, after: str, limit: int) -> None:
    theirs, ours = readings(f"<{inner}>{after}", limit)
    assert theirs == ours


@settings(max_examples=2000, deadline=None)
@given(
    local=st.text(alphabet=ATEXT + ".", min_size=1, max_size=12),
    domain=st.text(alphabet="abc-.0", min_size=1, max_size=12),
)
def test_near_plain_addresses_read_alike(local: str, domain: str) -> None:
    theirs, ours = readings(f"<{local}@{domain}> SIZE=10")
    assert theirs == ours
