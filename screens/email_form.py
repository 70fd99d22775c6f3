"""The email form of a stage: the ODC Portal's Configure > Emails > stage form.

Inline validation uses the store's own rules (store.validation), so the messages
are the CLI's. Only the chosen authentication type's fields are shown and saved.
Secrets left empty keep the stored value (shown as the ******** placeholder).
"""

from __future__ import annotations

import re
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Select, Static

from mailstage.screens.base import MailstageScreen, stage_if_production
from mailstage.screens.widgets import (
    AppFooter,
    AppHeader,
    ConfirmModal,
    ExampleInput,
    Field,
    ReadOnlyNote,
    SecretInput,
)
from mailstage.store import validation as rules
from mailstage.store.drafts import AUTH_FIELDS, BASIC, EMAIL_FIELDS, OAUTH, SECRETS, EmailDraft
from mailstage.store.errors import InvalidInput, MailstageError
from mailstage.store.fields import describe_on_form
from mailstage.store.models import AUTH_LABELS, MASK, BasicAuth, Permission, Stage
from mailstage.store.words import field_words

COMMON = ("server", "port", "sender_email", "sender_name")
# the fields that cannot be left empty (the portal marks them with *); Scopes is optional
MANDATORY = frozenset(
    ("server", "port", "auth", *AUTH_FIELDS[OAUTH], *AUTH_FIELDS[BASIC], "sender_email")
) - {"scopes"}
MANDATORY_LEGEND = "Fields marked * are mandatory."
ALL_FIELDS = ("server", "port", *AUTH_FIELDS[OAUTH], *AUTH_FIELDS[BASIC], *COMMON[2:])


TOKEN_URL_EXAMPLES = (
    "e.g. https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token",
    "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token",
    "https://login.microsoftonline.com/<tenant>/…/token",
    "https://…/<tenant>/oauth2/v2.0/token",
    "https://…/token",
)
PRODUCTION_NOTE = "▲ Production stage: a change here applies to the email real users receive."


# the form's fields top to bottom ("type" is the Authentication type dropdown)
FORM_ORDER = ("server", "port", "type", *AUTH_FIELDS[OAUTH], *AUTH_FIELDS[BASIC], *COMMON[2:])


def changed_labels(changed: list[str], visible: tuple[str, ...]) -> list[str]:
    """The saved fields in the portal's words and in the form's order. Only fields on
    the form: Security follows the port and the CA file is set from the command line,
    and the other type's fields that a change of Authentication type removed are left
    out."""
    keys = {name.rsplit(".", 1)[-1] for name in changed}
    return [
        field_words(key) for key in FORM_ORDER if key in keys and (key in visible or key == "type")
    ]


def split_scopes(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text) if part]


class EmailFormScreen(MailstageScreen[None]):
    Q_IS_TEXT = True  # q is a letter here; ctrl+q quits (asking first)
    HELP = (
        "Edit the stage's SMTP configuration. Tab / Shift+Tab move between fields; the "
        "Authentication type list opens with Enter and shows only its own fields. Each "
        "field is checked as you type, with the same rules as the command line. F2 "
        "saves (only when every field is valid); Esc cancels and asks before discarding "
        "changes. Secrets left empty keep the stored value."
    )
    BINDINGS = [
        Binding("f2", "save", "Save", id="email_form.save", tooltip="Save the configuration"),
        Binding("escape", "cancel", "Cancel", id="email_form.cancel", tooltip="Back, asking first"),
    ]

    def __init__(self, stage_name: str) -> None:
        super().__init__()
        self.stage_name = stage_name
        self.touched: set[str] = set()
        self.initial: dict[str, str] = {}
        self.read_only_reason: str | None = None
        self.has_secret: dict[str, bool] = {"password": False, "client_secret": False}
        self.stored_auth_type: str | None = None
        self.draft = EmailDraft({})

    @property
    def crumb(self) -> str:
        return f"Emails › {self.stage_name} › Edit"

    @property
    def production_stage(self) -> Stage | None:
        return stage_if_production(self.host, self.stage_name)

    # -- building --------------------------------------------------------------------

    def _values_from_store(self) -> tuple[dict[str, str], str | None]:
        ws = self.workspace
        stage = ws.stage(self.stage_name)
        self.stage_name = stage.name
        values = dict.fromkeys(ALL_FIELDS, "")
        values["port"] = "587"
        email = stage.email
        self.stored_auth_type = email.auth.type if email is not None else None
        self.has_secret = {"password": False, "client_secret": False}
        if email is None:
            return values, None
        values.update(
            server=email.server,
            port=str(email.port),
            sender_email=email.sender_email,
            sender_name=email.sender_name,
        )
        auth = email.auth
        if isinstance(auth, BasicAuth):
            values["username"] = auth.username
            self.has_secret["password"] = True
        else:
            values.update(
                token_url=auth.token_url, client_id=auth.client_id, scopes=" ".join(auth.scopes)
            )
            self.has_secret["client_secret"] = True
        return values, auth.type

    def compose(self) -> ComposeResult:
        ws = self.workspace
        self.read_only_reason = ws.why_not(Permission.MANAGE_EMAIL_CONFIGURATIONS)
        values, auth_type = self._values_from_store()
        self.initial = dict(values)
        self.initial["auth"] = auth_type or ""
        self.draft = EmailDraft(self.initial)
        yield AppHeader()
        yield ReadOnlyNote(self.read_only_reason)
        if self.production_stage is not None:
            yield Static(PRODUCTION_NOTE, classes="production-note", markup=False)
        with VerticalScroll(id="form"):
            yield Static(MANDATORY_LEGEND, classes="muted", id="mandatory-legend", markup=False)
            yield self._field("server", "SMTP server", values, "e.g. smtp.example.com")
            yield self._field("port", "SMTP port", values, "e.g. 587")
            # a stage that has a type offers no blank choice (Down from Basic stays a type)
            select: Select[str] = Select(
                [(label, key) for key, label in AUTH_LABELS.items()],
                prompt="Choose the authentication type",
                value=auth_type if auth_type else Select.NULL,
                allow_blank=not auth_type,
                id="auth",
                compact=True,
            )
            yield Field("Authentication type", select, id="field-auth", mandatory=True)
            yield self._field("token_url", "Server Token URL", values, TOKEN_URL_EXAMPLES)
            yield self._field("client_id", "Client ID", values, "(the application id)")
            yield self._field("client_secret", "Client Secret", values, "(the secret's value)")
            yield self._field("scopes", "Scopes", values, "(space-separated)")
            yield self._field("username", "Username", values, "(the SMTP user name)")
            yield self._field("password", "Password", values, "(the SMTP password)")
            yield self._field("sender_email", "Sender email", values, "e.g. noreply@example.com")
            yield self._field("sender_name", "Sender name", values, "(optional)")
        with Horizontal(id="form-buttons"):
            yield Button("Save (F2)", id="save", variant="primary", disabled=True)
            yield Button("Cancel (Esc)", id="cancel")
            yield Static("", id="form-status", markup=False)
        yield AppFooter()

    def _field(
        self, key: str, label: str, values: dict[str, str], placeholder: str | tuple[str, ...]
    ) -> Field:
        if isinstance(placeholder, tuple):  # the longest that fits the box
            widget: Input = ExampleInput(values[key], examples=placeholder, id=key, compact=True)
        elif key in SECRETS:
            kept = self.has_secret[key]
            widget = SecretInput(
                placeholder=f"{MASK} (unchanged)" if kept else placeholder,
                id=key,
                compact=True,
            )
        else:
            widget = Input(values[key], placeholder=placeholder, id=key, compact=True)
        return Field(label, widget, id=f"field-{key}", mandatory=key in MANDATORY)

    def on_mount(self) -> None:
        if self.read_only_reason:
            for widget in self.query("#form Input, #form Select"):
                widget.disabled = True
            self.query_one("#save", Button).disabled = True
            self.query_one("#save", Button).display = False  # no action a Viewer cannot take
            self.query_one("#cancel", Button).label = "Back (Esc)"
            self.query_one("#cancel", Button).focus()
        else:
            self.query_one("#server", Input).focus()
        self._show_auth_fields()
        self._validate_all()

    # -- reading the form ------------------------------------------------------------------

    @property
    def auth_type(self) -> str | None:
        value = self.query_one("#auth", Select).value
        return None if value is Select.NULL else str(value)

    def value(self, key: str) -> str:
        if key == "auth":
            return self.auth_type or ""
        return self.query_one(f"#{key}", Input).value

    def visible_fields(self) -> tuple[str, ...]:
        auth = self.auth_type
        return ("server", "port", *(AUTH_FIELDS[auth] if auth else ()), *COMMON[2:])

    def current_values(self) -> dict[str, str]:
        return {key: self.value(key) for key in EMAIL_FIELDS}

    def is_dirty(self) -> bool:
        return self.draft.is_dirty(self.current_values())

    def has_unsaved_changes(self) -> bool:
        return not self.read_only_reason and self.is_dirty()

    def _secret_kept(self, key: str) -> bool:
        """An empty secret field keeps the stored one, if the type did not change."""
        return self.has_secret[key] and self.auth_type == self.stored_auth_type

    def check(self, key: str) -> str | None:
        """The CLI's message for this field's current value, or None when valid: the
        rules come from the one table in store.validation, as the models' do."""
        text = self.value(key)
        if key in SECRETS and text == "" and self._secret_kept(key):
            return None
        if key != "scopes":
            broken = rules.broken_rule(key, text)
            return describe_on_form(key, broken) if broken else None
        try:  # optional as in the portal: empty is fine (a Microsoft URL suggests one)
            rules.check_scopes(split_scopes(text))
        except ValueError as exc:
            return describe_on_form(key, str(exc))
        return None

    def problems(self) -> dict[str, str]:
        found = {}
        if self.auth_type is None:
            found["auth"] = describe_on_form("auth", "is mandatory: choose Basic or OAuth 2.0")
        for key in self.visible_fields():
            if message := self.check(key):
                found[key] = message
        return found

    # -- reacting ---------------------------------------------------------------------------

    def _show_auth_fields(self) -> None:
        auth = self.auth_type
        for kind, keys in AUTH_FIELDS.items():
            for key in keys:
                self.query_one(f"#field-{key}", Field).display = kind == auth

    def _validate_all(self) -> bool:
        problems = self.problems()
        for key in (*ALL_FIELDS, "auth"):
            field = self.query_one(f"#field-{key}", Field)
            shown = key in self.touched
            field.set_error(problems.get(key) if shown else None)
        self._update_scope_note()
        ok = not problems
        status = self.query_one("#form-status", Static)
        if self.read_only_reason:
            status.update("Read-only")
        elif ok:
            status.update("Ready to save" if self.is_dirty() else "No changes")
        else:
            status.update(f"{len(problems)} field(s) to fix")
        self.query_one("#save", Button).disabled = bool(self.read_only_reason) or not ok
        return ok

    def _update_scope_note(self) -> None:
        field = self.query_one("#field-scopes", Field)
        suggested = rules.suggested_scopes(self.value("token_url"))
        if suggested and not split_scopes(self.value("scopes")):
            field.set_note("Empty: " + " ".join(suggested) + " will be used")
        else:
            field.set_note(None)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id in ALL_FIELDS:
            self.touched.add(event.input.id)
            if event.input.id == "token_url":
                self.touched.add("scopes")
            self._validate_all()

    @on(Select.Changed, "#auth")
    def _auth_changed(self) -> None:
        self.touched.add("auth")
        self._show_auth_fields()
        self._validate_all()

    # -- actions ------------------------------------------------------------------------------

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        if self.read_only_reason:
            self.notify(self.read_only_reason, markup=False, severity="warning")
            return
        self.touched.update(ALL_FIELDS)
        self.touched.add("auth")
        if not self._validate_all():
            # no toast: at 60x20 it covers the very errors it points at; the status line
            # counts them and the focus goes to the first
            self._focus_first_problem()
            return
        ws = self.workspace
        if self._stored_moved():
            # the store was read again since this form was filled (another admin saved):
            # never write this form's old values over theirs unseen
            self._after_reload()
            self.notify(
                "Another admin saved meanwhile: their values are shown with your changes "
                "on top. Check them and press F2 again.",
                markup=False,
                severity="warning",
            )
            return
        try:
            config = ws.email_from_options(self.stage_name, self._options())
            changed = ws.set_email(self.stage_name, config)
        except InvalidInput as exc:
            self._show_problems(exc)
            return
        except MailstageError as exc:
            # the edits, secrets included, stay on screen so nothing typed is lost
            self.report_error(exc, on_reload=self._after_reload)
            return
        for key in SECRETS:  # saved: keep no secret around longer than needed
            self.query_one(f"#{key}", Input).value = ""
        shown = changed_labels(changed, self.visible_fields())
        if shown:
            self.notify(f"Saved {self.stage_name}: {', '.join(shown)}.", markup=False)
        else:
            self.notify("Nothing changed.", markup=False)
        self.app.pop_screen()

    def _focus_first_problem(self) -> None:
        self.app.bell()
        problems = self.problems()
        server, port, *rest = self.visible_fields()
        first = next((key for key in (server, port, "auth", *rest) if key in problems), None)
        if first is not None:
            self.query_one(f"#{first}").focus()

    def _options(self) -> dict[str, Any]:
        auth = self.auth_type
        assert auth is not None
        options: dict[str, Any] = {
            "server": self.value("server").strip(),
            "sender_email": self.value("sender_email").strip(),
            "sender_name": self.value("sender_name").strip(),
            "auth": auth,
        }
        port = self.value("port").strip()
        if port != self.initial["port"] or not self.initial["auth"]:
            options["port"] = int(port)
        if auth == BASIC:
            options["username"] = self.value("username").strip()
            options["password"] = self.value("password") or None
        else:
            options["token_url"] = self.value("token_url").strip()
            options["client_id"] = self.value("client_id").strip()
            options["client_secret"] = self.value("client_secret") or None
            options["scopes"] = split_scopes(self.value("scopes"))
        return options

    def _show_problems(self, exc: InvalidInput) -> None:
        shown = False
        for key, rule in exc.problems:
            if key in self.visible_fields() or key == "auth":
                self.query_one(f"#field-{key}", Field).set_error(describe_on_form(key, rule))
                shown = True
        if not shown:
            self.report_error(exc)

    def _stored_moved(self) -> bool:
        """Whether the stage's stored configuration differs from the one this form shows
        as its base (the workspace was read again meanwhile)."""
        stored_type = self.stored_auth_type
        theirs, auth_type = self._values_from_store()
        theirs["auth"] = auth_type or ""
        self.stored_auth_type = stored_type
        return any(
            theirs[key] != self.draft.base[key] for key in EMAIL_FIELDS if key not in SECRETS
        )

    def _after_reload(self) -> None:
        """After another admin's save: their values, with only the fields you changed
        on top (draft.rebase); the secrets they stored are kept unless you typed one."""
        ws = self.workspace
        if ws.data.stage(self.stage_name) is None:
            return
        mine = self.current_values()
        changed = self.draft.changed(mine)
        theirs, auth_type = self._values_from_store()
        theirs["auth"] = auth_type or ""
        merged = self.draft.rebase(theirs, mine)
        self.initial = dict(theirs)
        select = self.query_one("#auth", Select)
        if merged["auth"]:
            select.value = merged["auth"]
        for key in ALL_FIELDS:
            self.query_one(f"#{key}", Input).value = merged[key]
        for key in SECRETS:
            kept = self.has_secret[key]
            placeholder = f"{MASK} (unchanged)" if kept else ""
            self.query_one(f"#{key}", Input).placeholder = placeholder
        self._show_auth_fields()
        self._validate_all()
        note = ", ".join(sorted(changed)) if changed else "none"
        self.query_one("#form-status", Static).update(f"Reloaded; your changes on top: {note}")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        if self.read_only_reason or not self.is_dirty():
            self.app.pop_screen()
            return

        def answered(discard: bool | None) -> None:
            if discard:
                for key in SECRETS:
                    self.query_one(f"#{key}", Input).value = ""
                self.app.pop_screen()

        self.app.push_screen(
            ConfirmModal(f"Discard your changes to {self.stage_name}?", yes="Discard"),
            answered,
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return not self.read_only_reason
        return True
