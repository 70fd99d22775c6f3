"""The relay's own SMTP conversation with apps (relay/app_session.py, which replaced
aiosmtpd for speed): the order of commands, AUTH PLAIN and LOGIN with and without an
initial response, cancelled logins, a pipelining app, over-long and unknown commands,
the idle timer that a trickle of bytes does not keep open. Raw sockets against the
relay in this event loop; one message really goes upstream."""

from __future__ import annotations

import asyncio
import base64
import socket
import time

import pytest

from tests.relay_inprocess import log_records, running_relay
from tests.test_relay_accounting import TO, message, upstream  # noqa: F401 - fixture


class Conversation:
    """One app connection, line by line: ``say`` sends, and returns the whole reply."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.reader = self.sock.makefile("rb")
        self.banner = self.read()

    def read(self) -> list[str]:
        lines = []
        while True:
            line = self.reader.readline().decode()
            if not line:
                return lines
            lines.append(line.rstrip("\r\n"))
            if line[3:4] != "-":
                return lines

    def say(self, text: str | bytes) -> list[str]:
        self.send(text)
        return self.read()

    def send(self, text: str | bytes) -> None:
        raw = text.encode() if isinstance(text, str) else text
        self.sock.sendall(raw + b"\r\n")

    def close(self) -> None:
        self.sock.close()


def plain(password: str, user: str = "Shop") -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def conversation_rules(port: int, password: str) -> dict[str, list[str]]:
    app = Conversation(port)
    got = {"banner": app.banner}
    got["mail before helo"] = app.say("MAIL FROM:<a@shop.example>")
    got["auth before ehlo"] = app.say(f"AUTH PLAIN {plain(password)}")
    got["ehlo"] = app.say("EHLO app.example")
    got["mail before auth"] = app.say("MAIL FROM:<a@shop.example>")
    got["unknown mechanism"] = app.say("AUTH CRAM-MD5")
    got["aborted"] = [*app.say("AUTH PLAIN"), *app.say("*")]
    got["bad base64"] = app.say("AUTH PLAIN !!!")
    got["wrong"] = app.say(f"AUTH PLAIN {plain('wrong')}")
    got["login"] = [*app.say("AUTH LOGIN"), *app.say(b64("Shop")), *app.say(b64(password))]
    got["again"] = app.say(f"AUTH PLAIN {plain(password)}")
    got["rcpt before mail"] = app.say(f"RCPT TO:<{TO}>")
    got["data before rcpt"] = app.say("DATA")
    got["mail"] = app.say("MAIL FROM:<a@shop.example> BODY=8BITMIME SIZE=100")
    got["nested"] = app.say("MAIL FROM:<b@shop.example>")
    got["malformed"] = app.say("RCPT TO:<a b@@>")
    got["rcpt parameter"] = app.say(f"RCPT TO:<{TO}> NOTIFY=NEVER")
    got["rset"] = app.say("RSET")
    got["too large"] = app.say("MAIL FROM:<a@shop.example> SIZE=999999999999")
    got["body"] = app.say("MAIL FROM:<a@shop.example> BODY=BINARY")
    got["too long"] = app.say("NOOP " + "x" * 600)
    got["unknown"] = app.say("XYZZY")
    got["vrfy"] = app.say("VRFY someone")
    got["quit"] = app.say("QUIT")
    app.close()
    return got


async def test_the_order_of_commands_and_the_logins(upstream):  # noqa: F811
    async with running_relay() as (relay, _events):
        got = await asyncio.to_thread(conversation_rules, relay.port, upstream.password)
    codes = {name: [line[:3] for line in lines] for name, lines in got.items()}
    assert codes["banner"] == ["220"] and "mailstage relay" in got["banner"][0]
    assert codes["mail before helo"] == ["503"]
    assert codes["auth before ehlo"] == ["503"]
    assert got["ehlo"][-1] == "250 HELP" and "250-AUTH LOGIN PLAIN" in got["ehlo"]
    assert any(line.startswith("250-SIZE ") for line in got["ehlo"])
    assert codes["mail before auth"] == ["530"]
    assert codes["unknown mechanism"] == ["504"]
    assert codes["aborted"] == ["334", "501"]
    assert codes["bad base64"] == ["501"]
    assert codes["wrong"] == ["535"]
    assert codes["login"] == ["334", "334", "235"]
    assert codes["again"] == ["503"]
    assert codes["rcpt before mail"] == ["503"]
    assert codes["data before rcpt"] == ["503"]
    assert codes["mail"] == ["250"]
    assert codes["nested"] == ["503"]
    assert codes["malformed"] == ["553"]
    assert codes["rcpt parameter"] == ["555"]
    assert codes["rset"] == ["250"]
    assert codes["too large"] == ["552"]
    assert codes["body"] == ["501"]
    assert codes["too long"] == ["500"]
    assert codes["unknown"] == ["500"]
    assert codes["vrfy"] == ["252"]
    assert codes["quit"] == ["221"]


def pipelined(port: int, password: str) -> list[list[str]]:
    """Every command of a message in one write, the next message's too: each is
    answered in order, the second only once the first message has been answered."""
    app = Conversation(port)
    app.say("EHLO app.example")
    app.say(f"AUTH PLAIN {plain(password)}")
    one_message = (
        f"MAIL FROM:<a@shop.example>\r\nRCPT TO:<{TO}>\r\nDATA\r\n".encode() + message(1) + b".\r\n"
    )
    app.sock.sendall(one_message + one_message.replace(b"m1", b"m2") + b"QUIT\r\n")
    replies = [app.read() for _ in range(9)]
    app.close()
    return replies


async def test_a_pipelining_app_is_answered_in_order(upstream):  # noqa: F811
    async with running_relay() as (relay, _events):
        replies = await asyncio.to_thread(pipelined, relay.port, upstream.password)
    assert [r[0][:3] for r in replies] == ["250", "250", "354", "250"] * 2 + ["221"]
    assert [r.message_id for r in log_records()] == ["<m1@shop.example>", "<m2@shop.example>"]


def bogus(port: int) -> tuple[list[list[str]], bytes]:
    app = Conversation(port)
    replies = [app.say(f"XYZ{n}") for n in range(5)]
    rest = app.reader.read()
    app.close()
    return replies, rest


async def test_unknown_commands_are_answered_then_the_connection_closed(upstream):  # noqa: F811
    async with running_relay() as (relay, _events):
        replies, rest = await asyncio.to_thread(bogus, relay.port)
    assert [r[0][:3] for r in replies] == ["500"] * 4 + ["502"]
    assert rest == b""


def trickle(port: int) -> tuple[float, list[str]]:
    """Half a command, a byte at a time, every 0.1 s: a complete command resets the
    idle timer, a byte does not."""
    app = Conversation(port)
    started = time.monotonic()
    try:
        for _ in range(30):
            app.sock.sendall(b"N")
            time.sleep(0.1)
    except OSError:
        pass  # closed under us: what this test expects
    goodbye = app.read()
    app.close()
    return time.monotonic() - started, goodbye


async def test_a_trickle_of_bytes_does_not_keep_a_session_open(upstream):  # noqa: F811
    async with running_relay(login_timeout=0.5) as (relay, _events):
        took, goodbye = await asyncio.to_thread(trickle, relay.port)
    assert goodbye and goodbye[0].startswith("421 4.4.2")
    assert took < 3.0  # closed at about 0.5 s, long before the 3 s of trickling end


def line_without_end(port: int) -> list[str]:
    app = Conversation(port)
    app.sock.sendall(b"NOOP " + b"y" * 5000)  # no line end: dropped, then refused
    reply = app.say("")
    after = app.say("NOOP")
    app.close()
    return [*reply, *after]


async def test_a_line_without_end_is_dropped_and_refused(upstream):  # noqa: F811
    async with running_relay() as (relay, _events):
        replies = await asyncio.to_thread(line_without_end, relay.port)
    assert [r[:3] for r in replies] == ["500", "250"]


@pytest.mark.parametrize("slots", [1])
async def test_a_place_in_memory_is_waited_for_in_turn(upstream, slots):  # noqa: F811
    """With one place and two apps in DATA at once, the second waits for the first's
    message to be answered (then gets its own place), never refused in between."""
    async with running_relay(max_messages=slots) as (relay, _events):

        def app(number: int) -> list[str]:
            conversation = Conversation(relay.port)
            conversation.say("EHLO app.example")
            conversation.say(f"AUTH PLAIN {plain(upstream.password)}")
            conversation.say("MAIL FROM:<a@shop.example>")
            conversation.say(f"RCPT TO:<{TO}>")
            replies = [*conversation.say("DATA"), *conversation.say(message(number) + b".")]
            conversation.close()
            return replies

        first, second = await asyncio.gather(asyncio.to_thread(app, 1), asyncio.to_thread(app, 2))
    assert [line[:3] for line in first] == ["354", "250"]
    assert [line[:3] for line in second] == ["354", "250"]
    assert sorted(r.message_id for r in log_records()) == [
        "<m1@shop.example>",
        "<m2@shop.example>",
    ]


def half_closed(port: int, password: str) -> tuple[list[str], bytes]:
    """An app that shuts its side of the connection right after the final dot and QUIT
    (as `printf ... | nc` does) still reads the answers, then the connection closes."""
    app = Conversation(port)
    app.say("EHLO app.example")
    app.say(f"AUTH PLAIN {plain(password)}")
    app.say("MAIL FROM:<a@shop.example>")
    app.say(f"RCPT TO:<{TO}>")
    app.say("DATA")
    app.sock.sendall(message(3) + b".\r\nQUIT\r\n")
    app.sock.shutdown(socket.SHUT_WR)
    answer = app.read()
    rest = app.reader.read()
    app.close()
    return answer, rest


async def test_an_app_that_shuts_its_side_still_hears_the_answer(upstream):  # noqa: F811
    async with running_relay() as (relay, _events):
        answer, rest = await asyncio.to_thread(half_closed, relay.port, upstream.password)
    assert answer[0][:3] == "250"
    assert rest.startswith(b"221")  # the pipelined QUIT answered, then closed
    assert [r.message_id for r in log_records()] == ["<m3@shop.example>"]
