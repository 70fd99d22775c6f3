"""Send test: ask for the recipient, then show each step live with its timing,
the redacted transcript and, on failure, the hint.

The delivery runs in an async worker (aiosmtplib is async): the UI never freezes and
Esc cancels it. mailer is imported inside the worker only, never at start-up.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Static
from textual.worker import Worker, WorkerState

from mailstage.screens.base import MailstageModal
from mailstage.screens.widgets import AppFooter, Field, TickBox
from mailstage.store.errors import InvalidInput, MailstageError
from mailstage.store.paste import addresses_from_paste
from mailstage.store.text import visible
from mailstage.store.validation import check_address

MARKS = {"running": "…", "ok": "✓", "failed": "✗"}


def display_filter(text: str) -> str:
    """Every text shown passes here (tests replace it to mask ports and timings)."""
    return text


def shown(text: str) -> str:
    """Text for the screen: what servers said, with control characters made visible."""
    return display_filter(visible(text, multiline=True))


def format_ms(ms: int) -> str:
    return f"{ms} ms"


def check_only_label(on: bool) -> str:
    return f"Check only: {'on' if on else 'off'} (on: stop after AUTH, send nothing)"


def not_configured_sentence(stage_name: str, *, may_configure: bool) -> str:
    how = "press e to configure it" if may_configure else "an Email Manager can configure it"
    return f"Stage {stage_name} has no email configuration yet: {how}. Nothing can be sent."


def default_recipients(
    workspace: Any, stage_name: str, app_name: str | None, last: list[str] | None = None
) -> list[str]:
    """The recipients Send test proposes: mailer.routing's one order (the app's active
    test list, its studio list, this user's last recipients through the stage), never
    the sender's own (often no-reply) mailbox: then the field is empty."""
    from mailstage.mailer.routing import default_test_recipients

    stage = workspace.data.stage(stage_name) if workspace is not None else None
    if stage is None:
        return []
    app = workspace.data.app(app_name) if app_name else None
    return default_test_recipients(app=app, stage=stage, last=last, to_sender=False)


def recipient_problems(addresses: list[str]) -> str | None:
    """One sentence naming every address that is not valid, or None."""
    problems = []
    for address in addresses:
        try:
            check_address(address)
        except ValueError as exc:
            problems.append(f"{address!r} {str(exc).rstrip('.')}")
    if not problems:
        return None
    if len(problems) == 1:
        return f"Recipient {problems[0]}."
    return f"{len(problems)} recipients are not valid: " + "; ".join(problems) + "."


class SendTestScreen(MailstageModal[None]):
    # the whole test, token request included, ends within this many seconds
    timeout_seconds: float = 20.0
    HELP = (
        "Send a test email through this stage's configuration. Type one or more "
        "recipients (separated by commas or spaces) and press Enter or F5. Check only "
        "stops after AUTH and sends nothing. Each step shows as it happens with its time; "
        "on failure the step, the server's reply and a hint are shown, with the "
        "transcript (secrets redacted). Esc cancels a running test, or closes."
    )
    BINDINGS = [
        Binding("f5", "start", "Send", id="send_test.start", tooltip="Run the send test"),
        Binding(
            "e",
            "configure",
            "Configure",
            id="send_test.configure",
            tooltip="Open the form of a stage that has no email configuration yet",
        ),
        # app bindings are off under a modal screen: bring help in explicitly
        Binding("f1", "app.help", "Help", id="send_test.help", tooltip="Help for Send test"),
        Binding(
            "escape",
            "close",
            "Cancel/close",
            id="send_test.close",
            tooltip="Cancel the running test, or close",
        ),
    ]

    class StepUpdate(Message):
        def __init__(self, step: Any) -> None:
            super().__init__()
            self.step = step

    def __init__(
        self,
        stage_name: str,
        *,
        app_name: str | None = None,
        recipients: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.stage_name = stage_name
        self.app_name = app_name
        self.initial_recipients = recipients
        self.sent_to: list[str] = []  # the recipients of the test running or last run
        self.configured = False  # set in compose: the stage has an email configuration
        self.steps: list[Any] = []
        self.result: Any = None
        self.running = False
        self.cancelled = False

    # -- layout -----------------------------------------------------------------------

    def _post_step(self, step: Any) -> None:
        self.post_message(self.StepUpdate(step))

    def compose(self) -> ComposeResult:
        ws = self.workspace
        recipients = self.initial_recipients or default_recipients(
            ws, self.stage_name, self.app_name, self._last_recipients()
        )
        stage = ws.data.stage(self.stage_name) if ws is not None else None
        title = f"Send test › {stage.name if stage else self.stage_name}"
        if self.app_name:
            title += f" › app {self.app_name}"
        self.configured = stage is not None and stage.email is not None
        where = not_configured_sentence(
            stage.name if stage else self.stage_name, may_configure=self.may_edit_email()
        )
        if stage is not None and stage.email is not None:
            email = stage.email
            where = f"{email.server}:{email.port} · {email.auth_label} · from {email.sender_email}"
        with Vertical(classes="dialog", id="send-test"):
            yield Static(shown(title), classes="dialog-title", markup=False)
            yield Static(
                shown(where), classes="muted" if self.configured else "", id="where", markup=False
            )
            yield Field(
                "Recipients",
                Input(
                    ", ".join(recipients),
                    placeholder="e.g. you@example.com (several: comma-separated)",
                    id="recipients",
                    compact=True,
                ),
                id="field-recipients",
            )
            with Horizontal(id="send-options"):
                yield TickBox(check_only_label(False), id="check-only")
                yield Button("Send (F5)", id="start", variant="primary")
            yield Static("", id="steps", markup=False)
            yield Static("", id="result", markup=False)
            yield Static("", id="hint", markup=False)
            with VerticalScroll(id="transcript"):
                yield Static("", id="transcript-text", markup=False)
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one("#transcript", VerticalScroll).border_title = "Transcript"
        if not self.configured:  # nothing here could succeed: say so, offer no Send
            self.query_one("#recipients", Input).disabled = True
            self.query_one("#check-only", Checkbox).disabled = True
            self.query_one("#start", Button).disabled = True
            return
        self.query_one("#recipients", Input).focus()

    @on(Checkbox.Changed, "#check-only")
    def _check_only(self, event: Checkbox.Changed) -> None:
        event.checkbox.label = check_only_label(event.value)

    # -- running ----------------------------------------------------------------------

    def _recipients(self) -> list[str] | None:
        field = self.query_one("#field-recipients", Field)
        raw = addresses_from_paste(self.query_one("#recipients", Input).value)
        if not raw and self.app_name is None:
            field.set_error("Recipients (to) are mandatory: type at least one address.")
            return None
        problems = recipient_problems(raw)
        field.set_error(problems)
        return None if problems else raw

    def _last_recipients(self) -> list[str]:
        from mailstage.store.recent_recipients import last_recipients

        return last_recipients(self.host.locations.shown, self.stage_name)

    def _remember_recipients(self, recipients: list[str]) -> None:
        from mailstage.store.recent_recipients import remember_recipients

        if recipients:  # empty with an app: its lists decide, nothing typed to keep
            remember_recipients(self.host.locations.shown, self.stage_name, recipients)

    @on(Input.Submitted, "#recipients")
    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        if self.running or not self.configured:
            return
        recipients = self._recipients()
        if recipients is None:
            return
        check_only = self.query_one("#check-only", Checkbox).value
        self.sent_to = recipients
        self._remember_recipients(recipients)
        self.steps = []
        self.result = None
        self.cancelled = False
        self.running = True
        self._render_steps()
        self._show_result("Running…", "", [])
        self.query_one("#start", Button).disabled = True
        self.run_test(recipients, check_only)

    @work(exclusive=True, exit_on_error=False, group="send-test")
    async def run_test(self, recipients: list[str], check_only: bool) -> Any:
        from mailstage.mailer.maillog import append_to_store_log
        from mailstage.mailer.send_test import send_test

        ws = self.workspace
        stage = ws.stage(self.stage_name)
        if stage.email is None:
            raise MailstageError(
                f"Stage {stage.name} has no email configuration yet: press e on the stage "
                "to configure it."
            )
        app = ws.app(self.app_name) if self.app_name else None
        result = await send_test(
            stage.email,
            stage=stage,
            app=app,
            recipients=recipients,
            check_only=check_only,
            timeout=self.timeout_seconds,
            on_step=self._post_step,
            user=ws.user,
        )
        if warning := append_to_store_log(ws.file, result.log_record()):
            self.notify(warning, severity="warning", markup=False)
        return result

    @on(StepUpdate)
    def _step(self, message: StepUpdate) -> None:
        step = message.step
        for index, known in enumerate(self.steps):
            if known.name == step.name:
                self.steps[index] = step
                break
        else:
            self.steps.append(step)
        self._render_steps()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "send-test":
            return
        state = event.state
        if state == WorkerState.SUCCESS:
            self._finished(event.worker.result)
        elif state == WorkerState.CANCELLED:
            self._stopped()
            self._show_result("Cancelled: the connection was closed, nothing more sent.", "", [])
        elif state == WorkerState.ERROR:
            self._stopped()
            error = event.worker.error
            if isinstance(error, InvalidInput):
                self.query_one("#field-recipients", Field).set_error(error.message)
                self._show_result("Not started: " + error.message, "", [])
            else:
                self._show_result("Send test could not run.", "", [])
                self.report_error(error or RuntimeError())

    def _stopped(self) -> None:
        self.running = False
        self.query_one("#start", Button).disabled = False

    def _finished(self, result: Any) -> None:
        self._stopped()
        self.result = result
        self._audit(result)
        self.steps = list(result.steps)
        self._render_steps()
        if result.ok:
            if result.check_only:
                headline = "✓ Check passed: connected and authenticated; nothing was sent."
            else:
                headline = "✓ Delivered to " + ", ".join(result.delivered_to)
                if result.redirected:
                    headline += " (test list)"
        else:
            headline = "✗ " + (result.error or "Send test failed.")
            if result.reply and result.reply not in headline:  # say it once: room for the hint
                headline += f"\nServer reply: {result.reply}"
        hint = f"Hint: {result.hint}" if result.hint else ""
        if result.warning:
            hint = (hint + "\n" if hint else "") + f"Warning: {result.warning}"
        self._show_result(headline, hint, result.transcript)

    def _audit(self, result: Any) -> None:
        ws = self.app.workspace  # type: ignore[attr-defined]
        count = len(result.delivered_to or self.sent_to)
        try:
            reloaded = ws.record_send_test(
                self.stage_name, self.app_name, count, result.outcome, result.tls_seen
            )
        except MailstageError as exc:
            self.app.report_error(exc)  # type: ignore[attr-defined]
            return
        if reloaded:
            self.app.reload_workspace()  # type: ignore[attr-defined]

    # -- display ----------------------------------------------------------------------

    def _render_steps(self) -> None:
        lines = []
        for step in self.steps:
            mark = MARKS.get(step.status, "?")
            ms = format_ms(step.ms) if step.status != "running" else ""
            detail = step.detail.splitlines()[0] if step.detail else ""
            lines.append(f"{mark} {step.label:<24}{ms:>8}  {detail}".rstrip())
        self.query_one("#steps", Static).update(shown("\n".join(lines)))

    def _show_result(self, headline: str, hint: str, transcript: list[str]) -> None:
        self.query_one("#result", Static).update(shown(headline))
        self.query_one("#hint", Static).update(shown(hint))
        self.query_one("#transcript-text", Static).update(shown("\n".join(transcript)))

    # -- leaving ----------------------------------------------------------------------

    def action_close(self) -> None:
        if self.running:
            self.cancelled = True
            self.workers.cancel_group(self, "send-test")
            return
        self.dismiss(None)

    def action_configure(self) -> None:
        if self.configured or not self.may_edit_email():
            return
        self.dismiss(None)
        self.host.open_email_form(self.stage_name)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return self.configured and not self.running
        if action == "configure":
            return not self.configured and self.may_edit_email()
        return True
