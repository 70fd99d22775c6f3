"""Members: who may do what. Administrators add members and change their roles."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from mailstage.screens.base import MailstageModal, MailstageScreen
from mailstage.screens.removal import confirm_removal
from mailstage.screens.widgets import AppFooter, AppHeader, ReadOnlyNote, highlighted_row_key
from mailstage.store.errors import InvalidInput, MailstageError
from mailstage.store.models import Permission


class MemberModal(MailstageModal[tuple[str, str] | None]):
    """Add a member or change a member's role: a user name and a role."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "save", "Save", id="member.save", tooltip="Apply the role"),
        Binding("escape", "cancel", "Cancel", id="member.cancel", tooltip="Change nothing"),
    ]
    HELP = (
        "Type the member's OS login name and choose a role; F2 or Save applies it, "
        "Esc changes nothing."
    )

    def __init__(self, user: str = "", role: str | None = None) -> None:
        super().__init__()
        self.user = user
        self.role = role

    def compose(self) -> ComposeResult:
        ws = self.workspace
        roles = [(r.name, r.name) for r in ws.data.organization.roles]
        title = f"Change the role of {self.user}" if self.user else "Add a member"
        with Vertical(classes="dialog"):
            yield Static(title, classes="dialog-title", markup=False)
            yield Label("User (OS login name)")
            yield Input(self.user, id="member-user", disabled=bool(self.user))
            yield Label("Role")
            yield Select(
                roles,
                value=self.role if self.role else Select.NULL,
                prompt="Choose a role",
                id="member-role",
            )
            yield Static("", id="member-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (F2)", id="member-save", variant="primary")
                yield Button("Cancel", id="member-cancel")

    def on_mount(self) -> None:
        if self.user:
            self.query_one("#member-role", Select).focus()
        else:
            self.query_one("#member-user", Input).focus()

    @on(Input.Submitted, "#member-user")
    def _next(self) -> None:
        self.query_one("#member-role", Select).focus()

    @on(Button.Pressed, "#member-save")
    def action_save(self) -> None:
        user = self.query_one("#member-user", Input).value.strip()
        role = self.query_one("#member-role", Select).value
        error = self.query_one("#member-error", Static)
        if role is Select.NULL or not isinstance(role, str):
            error.update("Role (role) is mandatory: choose one.")
            return
        try:
            self.workspace.set_member(user, role)
        except InvalidInput as exc:
            error.update(exc.message)
            return
        except MailstageError as exc:
            self.dismiss(None)
            self.report_error(exc)
            return
        self.dismiss((user, role))

    @on(Button.Pressed, "#member-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class MembersScreen(MailstageScreen[None]):
    """Members and their roles, and what each role may do."""

    TITLE = "Members"
    HELP = (
        "Members of the organization (OS login names) and their roles, then each role's "
        "permissions. Administrators (permission Manage Members) add a member with n and "
        "change the highlighted member's role with Enter or c."
    )

    DEFAULT_CSS = """
    MembersScreen #members-table { height: auto; max-height: 1fr; margin: 0 1; }
    MembersScreen #roles-title { padding: 0 1; margin-top: 1; text-style: bold; }
    MembersScreen #roles-table { height: auto; max-height: 1fr; margin: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "add_member", "Add member", id="members.add", tooltip="Add a member"),
        Binding(
            "c",
            "change_role",
            "Change role",
            id="members.change_role",
            tooltip="Change the highlighted member's role",
        ),
        Binding(
            "x",
            "remove_member",
            "Remove",
            id="members.remove",
            tooltip="Take the highlighted member out of the organization (asks first)",
        ),
    ]

    def compose(self) -> ComposeResult:
        yield AppHeader()
        sentence = self.workspace.why_not(Permission.MANAGE_MEMBERS)
        yield ReadOnlyNote(sentence, id="members-readonly")
        yield DataTable(id="members-table", cursor_type="row")
        yield Static("Roles", id="roles-title", markup=False)
        yield DataTable(id="roles-table", cursor_type="none", show_cursor=False)
        yield AppFooter()

    @property
    def _can_manage(self) -> bool:
        return self.workspace.can(Permission.MANAGE_MEMBERS)

    def on_mount(self) -> None:
        members = self.query_one("#members-table", DataTable)
        members.add_column("User", key="user", width=30)
        members.add_column("Role", key="role", width=40)
        roles = self.query_one("#roles-table", DataTable)
        roles.add_column("Role", key="role", width=28)
        roles.add_column("Permissions", key="permissions", width=44)
        roles.can_focus = False
        self._fill()
        members.focus()

    def _fill(self, keep: str | None = None) -> None:
        org = self.workspace.data.organization
        table = self.query_one("#members-table", DataTable)
        keep = keep or self.highlighted_user
        table.clear()
        users = sorted(org.members, key=str.casefold)
        for user in users:
            you = " (you)" if user == self.workspace.user else ""
            table.add_row(Text(user + you), Text(org.members[user]), key=user)
        if keep in users:
            table.move_cursor(row=users.index(keep), animate=False)
        roles = self.query_one("#roles-table", DataTable)
        roles.clear()
        for role in org.roles:
            names = ", ".join(p.label for p in role.permissions) or "none (read-only)"
            roles.add_row(Text(role.name), Text(names), key=role.name, height=None)

    @property
    def highlighted_user(self) -> str | None:
        return highlighted_row_key(self.query_one("#members-table", DataTable))

    def refresh_from_workspace(self) -> None:
        self._fill()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add_member", "change_role", "remove_member") and not self._can_manage:
            return False
        return True

    @on(DataTable.RowSelected, "#members-table")
    def _selected(self) -> None:
        self.action_change_role()

    def _open(self, user: str = "", role: str | None = None) -> None:
        if sentence := self.workspace.why_not(Permission.MANAGE_MEMBERS):
            self.notify(sentence, severity="warning", markup=False)
            return

        def done(result: tuple[str, str] | None) -> None:
            if result is None:
                return
            from mailstage.store.identity import no_such_login

            self._fill(keep=result[0])
            warning = no_such_login(result[0], self.workspace.file.locations)
            self.notify(
                f"{result[0]} is now {result[1]}." + (f" {warning}" if warning else ""),
                severity="warning" if warning else "information",
                timeout=12 if warning else None,
                markup=False,
            )

        self.app.push_screen(MemberModal(user, role), done)

    def action_add_member(self) -> None:
        self._open()

    def action_remove_member(self) -> None:
        user = self.highlighted_user
        if user is None:
            return
        role = self.workspace.data.organization.members.get(user)

        def removed() -> None:
            self._fill()
            self.notify(f"{user} is no longer a member.", markup=False)

        confirm_removal(
            self,
            f"Remove {user} ({role}) from the organization? They keep their login but lose "
            "every permission here.",
            lambda: self.workspace.remove_member(user),
            removed,
        )

    def action_change_role(self) -> None:
        user = self.highlighted_user
        if user is None:
            return
        self._open(user, self.workspace.data.organization.members.get(user))
