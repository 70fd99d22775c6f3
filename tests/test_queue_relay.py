"""The relay with its queue (the default), through real clients: the app hears upstream's
own answer within --first-attempt, `250 Queued as ID` when upstream is down, slow or not
configured yet, and every queued message is delivered once when it comes back."""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailstage.relay.file_queue import FileQueue
from mailstage.store.filestore import StoreFile
from mailstage.store.paths import Locations
from tests.cli_runner import run_cli
from tests.hostile_support import small_file_system
from tests.loopback import LoopbackSmtp, SmtpBehaviour
from tests.relay_harness import RunningRelay, credentials, start_relay
from tests.test_delivery_cli import set_basic
from tests.test_relay_upstream import relay_for

FAST = ("--retry-after", "1")


def mail(number: int, to: str, subject: str = "order") -> bytes:
    return (
        f"From: shop@shop.example\r\nTo: {to}\r\nSubject: {subject} {number}\r\n"
        f"Message-ID: <r{number}@shop.example>\r\n\r\nbody {number}\r\n"
    ).encode()


def submit(relay: RunningRelay, password: str, number: int, *to: str) -> tuple[int, str]:
    """One message; the relay's answer to the end of DATA (code, text)."""
    to = to or ("a@buyers.example",)
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=90) as smtp:
        smtp.login("Shop", password)
        smtp.mail("app@shop.example")
        for address in to:
            smtp.rcpt(address)
        code, text = smtp.data(mail(number, ", ".join(to)))
    return code, text.decode()


def log_records() -> list[dict]:
    result = run_cli("log", "--json", "--limit", "1000")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in reversed(result.stdout.splitlines())]  # oldest first


def queue_items() -> list:
    file, _ = StoreFile.open(Locations.resolve())
    return FileQueue.of_store(file).list()


def wait_until(check, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def shop(initialized, smtp_server, certificates) -> str:
    set_basic(smtp_server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    return credentials()


def test_sent_within_the_first_attempt_says_sent(shop, smtp_server):
    relay = start_relay("QA")
    try:
        code, text = submit(relay, shop, 1)
    finally:
        assert relay.stop() == 0
    assert (code, text.split(" ", 2)[:2]) == (250, ["2.0.0", "Sent"])
    assert len(smtp_server.messages) == 1
    assert [r["outcome"] for r in log_records()] == ["sent"]
    assert queue_items() == []
    assert "queue " in relay.stderr  # the listening line names the queue


@pytest.fixture
def upstream_back(smtp_server, certificates) -> Iterator[LoopbackSmtp]:
    """A second upstream on the first one's port, started by the test when it wants
    upstream back (aiosmtpd's controllers do not start twice)."""
    back = LoopbackSmtp(SmtpBehaviour(), certificates)
    back.controller.port = smtp_server.port
    yield back
    back.stop()


def test_upstream_down_then_back_delivers_every_queued_message_once(
    shop, smtp_server, upstream_back
):
    smtp_server.stop()
    relay = start_relay("QA", *FAST)
    try:
        answers = [submit(relay, shop, n) for n in range(4)]
        for code, text in answers:
            assert code == 250 and text.startswith("2.0.0 Queued as "), text
            assert "refused" in text
        ids = {text.split()[3].rstrip(":") for _, text in answers}
        assert {item.id for item in queue_items()} == ids
        upstream_back.start()
        wait_until(lambda: len(upstream_back.messages) >= 4)
        wait_until(lambda: queue_items() == [])
        time.sleep(1.5)  # another retry round: nothing more goes
    finally:
        assert relay.stop() == 0
    subjects = sorted(m.message["Subject"] for m in upstream_back.messages)
    assert subjects == [f"order {n}" for n in range(4)]
    outcomes = [(r["outcome"], r["queue_id"]) for r in log_records()]
    assert sorted(o for o, _ in outcomes) == ["queued"] * 4 + ["sent"] * 4
    assert {q for o, q in outcomes if o == "sent"} == ids


def test_a_slow_upstream_is_queued_and_the_attempt_in_progress_counts_once(
    initialized, smtp_server_factory, certificates
):
    server = smtp_server_factory(data_delay=2.0)
    relay, password = relay_for(server, certificates, "--first-attempt", "0.3", *FAST)
    try:
        code, text = submit(relay, password, 7)
        assert code == 250 and text.startswith("2.0.0 Queued as "), text
        assert "no answer from upstream within 0.3 s" in text
        wait_until(lambda: [r["outcome"] for r in log_records()] == ["queued", "sent"])
        time.sleep(2.5)  # a second copy would have been attempted by now
    finally:
        assert relay.stop() == 0
    assert len(server.messages) == 1
    assert server.handler.data_started == 1


def test_partial_refusal_answers_250_and_logs_each_refused_recipient(
    initialized, smtp_server_factory, certificates
):
    server = smtp_server_factory(refuse_recipients_with="nobody")
    relay, password = relay_for(server, certificates)
    try:
        code, text = submit(relay, password, 2, "a@buyers.example", "nobody@buyers.example")
        refused_code, refused_text = submit(relay, password, 3, "nobody@buyers.example")
    finally:
        assert relay.stop() == 0
    assert code == 250 and "to 1 of 2 recipients" in text
    assert "nobody@buyers.example (550 5.1.1" in text
    assert refused_code == 550 and refused_text.startswith("5.1.1")
    partial, refused = log_records()
    assert partial["outcome"] == "sent" and partial["delivered_to"] == ["a@buyers.example"]
    assert list(partial["refused"]) == ["nobody@buyers.example"]
    assert refused["outcome"] == "refused"
    assert [m.rcpt_tos for m in server.messages] == [["a@buyers.example"]]


def test_no_configuration_yet_is_queued_and_sent_once_configured(
    initialized, smtp_server, certificates
):
    assert run_cli("app", "add", "Shop").returncode == 0
    password = credentials()
    relay = start_relay("QA", *FAST)
    try:
        code, text = submit(relay, password, 4)
        assert code == 250 and "Queued as" in text and "no email configuration" in text
        set_basic(smtp_server.port, ca_file=certificates.ca_file)
        wait_until(lambda: len(smtp_server.messages) == 1)
    finally:
        assert relay.stop() == 0
    (received,) = smtp_server.messages
    assert received.rcpt_tos == ["a@buyers.example"]
    assert received.message["From"] == "shop@shop.example"


def test_routing_is_decided_when_the_message_is_accepted(shop, smtp_server, upstream_back):
    assert run_cli("testlist", "add", "Shop", "--stage", "QA", "qa@test.example").returncode == 0
    assert run_cli("testlist", "activate", "Shop", "--stage", "QA").returncode == 0
    smtp_server.stop()
    relay = start_relay("QA", *FAST)
    try:
        code, _ = submit(relay, shop, 5, "real@buyers.example")
        assert code == 250
        assert run_cli("testlist", "deactivate", "Shop", "--stage", "QA").returncode == 0
        upstream_back.start()
        wait_until(lambda: len(upstream_back.messages) == 1)
    finally:
        assert relay.stop() == 0
    assert upstream_back.messages[0].rcpt_tos == ["qa@test.example"]  # the list as it was


def test_an_active_but_empty_test_list_is_queued_until_it_has_an_address(shop, smtp_server):
    assert run_cli("testlist", "activate", "Shop", "--stage", "QA").returncode == 0
    relay = start_relay("QA", *FAST)
    try:
        code, text = submit(relay, shop, 6, "real@buyers.example")
        assert code == 250 and "Queued as" in text and "active but empty" in text
        assert (
            run_cli("testlist", "add", "Shop", "--stage", "QA", "qa@test.example").returncode == 0
        )
        wait_until(lambda: len(smtp_server.messages) == 1)
    finally:
        assert relay.stop() == 0
    assert smtp_server.messages[0].rcpt_tos == ["qa@test.example"]


@pytest.fixture
def store_on_a_small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with small_file_system(tmp_path / "small", 256) as mount:
        monkeypatch.setenv("MAILSTAGE_STORE", str(mount / "data" / "store.json"))
        monkeypatch.setenv("MAILSTAGE_KEY_FILE", str(tmp_path / "conf" / "store.key"))
        assert run_cli("init").returncode == 0
        yield mount


def test_a_full_disk_is_452_and_nothing_is_claimed(
    store_on_a_small_disk, smtp_server, certificates
):
    set_basic(smtp_server.port, ca_file=certificates.ca_file)
    assert run_cli("app", "add", "Shop").returncode == 0
    password = credentials()
    relay = start_relay("QA")
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=90) as smtp:
            smtp.login("Shop", password)
            big = mail(8, "a@buyers.example") + b"x" * 76 + b"\r\n" * 1
            big += (b"y" * 998 + b"\r\n") * 400  # ~400 KB: more than the disk holds
            with pytest.raises(smtplib.SMTPDataError) as caught:
                smtp.sendmail("app@shop.example", ["a@buyers.example"], big)
    finally:
        assert relay.stop() == 0
    assert caught.value.smtp_code == 452
    assert caught.value.smtp_error.decode().startswith("4.3.1 ")
    assert smtp_server.messages == []
    queue_folder = store_on_a_small_disk / "data" / "queue"
    assert [p.name for p in queue_folder.iterdir()] == []


def test_two_relays_for_one_stage_deliver_each_queued_message_once(
    shop, smtp_server, upstream_back
):
    smtp_server.stop()
    relays = [start_relay("QA", *FAST) for _ in range(2)]
    try:
        for number in range(6):  # accepted by both relays, in turn
            code, _ = submit(relays[number % 2], shop, number)
            assert code == 250
        assert len(queue_items()) == 6
        upstream_back.start()
        wait_until(lambda: len(upstream_back.messages) >= 6)
        wait_until(lambda: queue_items() == [])
        time.sleep(1.5)  # another round of both relays: nothing more goes
    finally:
        for relay in relays:
            assert relay.stop() == 0
    subjects = sorted(m.message["Subject"] for m in upstream_back.messages)
    assert subjects == [f"order {n}" for n in range(6)]


def test_bad_queue_options_exit_3_with_the_rule(shop):
    for args, words in (
        (["--queue-lifetime", "5x"], "Queue lifetime (queue_lifetime)"),
        (["--queue-lifetime", "40d"], "from 1s to 30d"),
        (["--retry-after", "0"], "Retry after (retry_after)"),
        (["--first-attempt", "nan"], "First attempt (first_attempt)"),
        (["--notify-to", "not an address"], "Notify to (notify_to)"),
    ):
        result = run_cli("relay", "QA", "--listen", "127.0.0.1:0", *args, timeout=60)
        assert result.returncode == 3, (args, result.stderr)
        assert words in result.stderr and "Traceback" not in result.stderr
