"""Members, Audit and Captured mail, driven with the keyboard only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from mailstage.screens.audit import AuditEventModal, AuditScreen, safe_details
from mailstage.screens.captured import CapturedMailScreen, MessageViewerScreen
from mailstage.screens.members import MemberModal, MembersScreen
from mailstage.store.models import AuditEvent
from tests.test_tui_apps_support import (
    FIXED,
    HarnessApp,
    flat,
    make_store,
    reopen,
    screen_text,
    settle,
)

SIZE = (80, 24)


async def test_admin_adds_a_member_and_changes_a_role(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: MembersScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, MembersScreen)
        text = screen_text(app)
        assert "alice (you)" in text and "bob" in text and "Viewer" in text
        assert "Read-only" not in text

        await pilot.press("n")
        await settle(pilot, MemberModal)
        await pilot.press(*"dave", "enter")  # to the role Select
        await pilot.press("f2")  # no role yet: named inline
        await pilot.pause()
        assert "Role (role) is mandatory" in screen_text(app)
        await pilot.press("enter")  # open the Select
        await pilot.pause()
        await pilot.press("down", "down", "down", "enter")  # App Developer
        await pilot.pause()
        await pilot.press("f2")
        await settle(pilot, MembersScreen)
        assert reopen(tmp_path).data.organization.members["dave"] == "App Developer"

        # change bob (Viewer) to Email Manager: highlight him, Enter, choose, F2
        await pilot.press("up", "up", "enter")  # dave -> carol -> bob
        await settle(pilot, MemberModal)
        assert "Change the role of bob" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("up", "up", "enter")  # Viewer -> Email Manager
        await pilot.pause()
        await pilot.press("f2")
        await settle(pilot, MembersScreen)
        assert "Email Manager" in screen_text(app)

    org = reopen(tmp_path).data.organization
    assert org.members["bob"] == "Email Manager"
    last = reopen(tmp_path).data.audit[-1]
    assert (last.action, last.target, last.details["role"]) == (
        "member.set",
        "bob",
        "Email Manager",
    )


async def test_member_modal_names_an_invalid_user(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: MembersScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, MembersScreen)
        await pilot.press("n")
        await settle(pilot, MemberModal)
        await pilot.press(*"two words", "enter", "enter")
        await pilot.pause()
        await pilot.press("down", "enter", "f2")
        await pilot.pause()
        assert "must be an OS login name" in flat(screen_text(app))
        await pilot.press("escape")
        await settle(pilot, MembersScreen)
    assert "two words" not in reopen(tmp_path).data.organization.members


async def test_non_admin_sees_members_read_only(tmp_path: Path) -> None:
    make_store(tmp_path)
    before = (tmp_path / "store.json").read_bytes()
    app = HarnessApp(reopen(tmp_path, user="carol"), lambda: MembersScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, MembersScreen)
        text = flat(screen_text(app))
        assert "Read-only. You (carol) lack the permission Manage Members" in text
        await pilot.press("n", "c", "enter")
        await pilot.pause()
        assert isinstance(app.screen, MembersScreen)
    assert (tmp_path / "store.json").read_bytes() == before


async def test_audit_newest_first_and_event_detail(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: AuditScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AuditScreen)
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        times = [e.at for e in screen.newest_first()]
        assert times == sorted(times, reverse=True)
        rows = [line for line in screen_text(app).splitlines() if "2025-03-14" in line]
        assert "role set" in rows[0] and "carol" in rows[0]
        assert "created" in rows[-1]
        assert "8 events, newest first." in screen_text(app)
        await pilot.press("enter")
        await settle(pilot, AuditEventModal)
        assert "Who:        alice" in screen_text(app)
        await pilot.press("escape")
        await settle(pilot, AuditScreen)
        await pilot.press("slash", *"testlist")
        await pilot.pause()
        assert "2 of 8 events match" in screen_text(app)


def test_audit_never_shows_values_named_like_secrets() -> None:
    details = {"password": "hunter2", "client_secret": "s3", "count": 2, "token": "t"}
    assert safe_details(details) == {
        "password": "********",
        "client_secret": "********",
        "count": 2,
        "token": "********",
    }


async def test_audit_masks_a_secret_that_slipped_in(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    ws.data.audit.append(
        AuditEvent(
            at=FIXED + timedelta(hours=1),
            user="mallory",
            action="email.set",
            target="QA",
            fields=["auth.password"],
            details={"password": "hunter2-secret-value"},
        )
    )
    app = HarnessApp(ws, lambda: AuditScreen())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, AuditScreen)
        await pilot.press("enter")
        await settle(pilot, AuditEventModal)
        text = screen_text(app)
        assert "hunter2" not in text and "********" in text


def _write_eml(folder: Path, name: str, subject: str, body: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(
        (
            "From: Sender <sender@example.com>\r\n"
            "To: ann@example.com\r\n"
            f"Subject: {subject}\r\n"
            "Date: Fri, 14 Mar 2025 09:26:53 +0000\r\n"
            "X-Mailstage-Original-Recipients: real@example.org\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
            f"{body}\r\n"
        ).encode()
    )


async def test_captured_mail_list_and_viewer_show_plain_text(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    folder = tmp_path / "captured"
    _write_eml(folder, "20250314-092653-a.eml", "Older", "first")
    _write_eml(
        folder,
        "20250314-092654-b.eml",
        "[bold]Newest[/bold] test",
        "Hello [red]not markup[/red]\r\nsecond line \x1b[31m",
    )
    app = HarnessApp(ws, lambda: CapturedMailScreen(folder), capture_folder=folder)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, CapturedMailScreen)
        rows = [line for line in screen_text(app).splitlines() if "2025-03-14" in line]
        assert "[bold]Newest[/bold]" in rows[0]
        assert "Older" in rows[1]
        await pilot.press("enter")
        await settle(pilot, MessageViewerScreen)
        text = screen_text(app)
        assert "Subject: [bold]Newest[/bold] test" in text
        assert "X-Mailstage-Original-Recipients: real@example.org" in text
        assert "Hello [red]not markup[/red]" in text
        assert "\x1b" not in text
        await pilot.press("escape")
        await settle(pilot, CapturedMailScreen)


async def test_captured_mail_empty_folder(tmp_path: Path) -> None:
    ws = make_store(tmp_path)
    app = HarnessApp(ws, lambda: CapturedMailScreen(tmp_path / "none"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, CapturedMailScreen)
        assert "No captured messages yet" in flat(screen_text(app))
