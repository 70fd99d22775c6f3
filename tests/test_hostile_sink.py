"""Kind 11 (the sink's half): `mailstage sink` bounds its memory. A message is at most
``--max-size`` (default 10 MiB), at most ``--max-connections`` clients (default 4) are
served at once, a client that never sends a line break is cut off; so it never holds
many large messages at once."""

from __future__ import annotations

import re
import signal
import smtplib
import socket
import subprocess
import threading
from pathlib import Path

from mailstage.mailer.capture import MAX_UNBROKEN_LINE, CaptureServer, list_captured
from tests.cli_runner import REPO, mailstage_command
from tests.hostile_servers import wait_for


def banner(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    return sock.recv(1024)


def raw_client(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def body_of(size: int) -> bytes:
    line = b"x" * 998 + b"\r\n"
    return b"Subject: big\r\n\r\n" + line * (size // len(line) + 1)


def test_a_message_over_the_size_limit_is_refused_and_not_kept(tmp_path):
    with CaptureServer("127.0.0.1", 0, tmp_path, max_size=100_000) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
            client.ehlo()
            assert client.esmtp_features["size"] == "100000"
            # without SIZE= on MAIL, so the server must count the data itself
            assert client.mail("a@example.com")[0] == 250
            assert client.rcpt("b@example.com")[0] == 250
            code, _ = client.data(body_of(300_000))
            assert code == 552
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
            client.sendmail("a@example.com", ["b@example.com"], b"Subject: small\r\n\r\nfits\r\n")
    kept = list_captured(tmp_path)
    assert [mail.subject for mail in kept] == ["small"]


def test_connections_beyond_the_limit_are_told_to_retry(tmp_path):
    with CaptureServer("127.0.0.1", 0, tmp_path, max_connections=2) as server:
        first, second = raw_client(server.port), raw_client(server.port)
        assert banner(first).startswith(b"220") and banner(second).startswith(b"220")
        with raw_client(server.port) as third:
            assert banner(third).startswith(b"421")
        first.close()
        # once one leaves, a new client is served again

        def served() -> bool:
            with raw_client(server.port) as fourth:
                return banner(fourth).startswith(b"220")

        assert wait_for(served)
        second.close()


def test_an_idle_client_is_disconnected_and_frees_its_slot(tmp_path):
    with CaptureServer("127.0.0.1", 0, tmp_path, max_connections=1, idle_seconds=0.5) as server:
        with raw_client(server.port) as idle:
            assert banner(idle).startswith(b"220")
            assert idle.recv(1024) == b""  # the sink hung up on the silent client

        def served() -> bool:
            with raw_client(server.port) as next_client:
                return banner(next_client).startswith(b"220")

        assert wait_for(served)


def test_a_client_that_never_sends_a_line_break_is_cut_off(tmp_path):
    with CaptureServer("127.0.0.1", 0, tmp_path) as server:
        with raw_client(server.port) as client:
            banner(client)
            client.sendall(b"EHLO x\r\nMAIL FROM:<a@example.com>\r\n")
            client.sendall(b"RCPT TO:<b@example.com>\r\nDATA\r\n")
            try:
                for _ in range(4 * MAX_UNBROKEN_LINE // 65536 + 1):
                    client.sendall(b"y" * 65536)
            except OSError:
                pass  # the server may have closed already
            # the server hangs up (EOF, or a reset when our bytes were still unread);
            # a server that kept reading would leave recv waiting: socket.timeout fails
            answer = b""
            try:
                while chunk := client.recv(65536):
                    answer += chunk
            except ConnectionResetError:
                answer += b"(reset)"
            assert b"500 5.5.2 Line too long" in answer or answer.endswith(b"(reset)")
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as other:  # still serving
            other.sendmail("a@example.com", ["b@example.com"], b"Subject: ok\r\n\r\nok\r\n")
    assert [mail.subject for mail in list_captured(tmp_path)] == ["ok"]


def peak_memory_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))


def test_the_sink_command_holds_bounded_memory_under_many_large_messages(tmp_path):
    sink = subprocess.Popen(
        [*mailstage_command(), "sink", "--port", "0", "--dir", str(tmp_path / "mail")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        port = int(re.search(r"port (\d+)", sink.stdout.readline()).group(1))
        before = peak_memory_kib(sink.pid)
        outcomes: list[str] = []
        big = body_of(24 * 1024 * 1024)  # 24 MiB each: more than the default 10 MiB

        def send_big() -> None:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
                    client.ehlo()
                    client.mail("a@example.com")
                    client.rcpt("b@example.com")
                    outcomes.append(str(client.data(big)[0]))
            except smtplib.SMTPResponseException as exc:  # 421 at connect, 552 at DATA
                outcomes.append(str(exc.smtp_code))
            except (smtplib.SMTPException, OSError) as exc:
                outcomes.append(type(exc).__name__)

        clients = [threading.Thread(target=send_big) for _ in range(8)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=300)
        grown_mib = (peak_memory_kib(sink.pid) - before) / 1024
    finally:
        sink.send_signal(signal.SIGINT)
        sink.communicate(timeout=30)
    print(f"sink grew by {grown_mib:.0f} MiB; outcomes {sorted(outcomes)}")
    assert len(outcomes) == 8 and "250" not in outcomes
    assert set(outcomes) <= {"552", "421"}, outcomes
    # 8 x 24 MiB were offered; at most 4 clients x 10 MiB may be held (x2 while joined)
    assert grown_mib < 4 * 2 * 10 + 20, f"the sink grew by {grown_mib:.0f} MiB"
    assert list_captured(tmp_path / "mail") == []
