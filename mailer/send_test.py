"""Send test: deliver a test message through a stage's configuration, step by step."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from mailstage.mailer.deadline import Deadline
from mailstage.mailer.hints import failure_hint, hint_for
from mailstage.mailer.maillog import LogRecord, outcome_of_reply
from mailstage.mailer.message import build_test_message, with_connection
from mailstage.mailer.routing import route, send_test_recipients
from mailstage.mailer.smtp_session import SmtpSession
from mailstage.mailer.steps import StepCallback, StepFailed, StepName, StepRecorder, StepReport
from mailstage.mailer.transcript import Transcript
from mailstage.mailer.upstream_login import connect_and_login, forbid_credentials
from mailstage.store.models import App, EmailConfig, Stage

if TYPE_CHECKING:
    pass


class SendTestResult(BaseModel):
    ok: bool
    stage: str
    app: str | None
    redirected: bool
    delivered_to: list[str] = Field(default_factory=list)
    steps: list[StepReport] = Field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    reply: str | None = None  # the server's reply that ended the test, if any
    warning: str | None = None
    check_only: bool = False
    transcript: list[str] = Field(default_factory=list)
    # for the email log
    message_id: str = ""
    subject: str = ""
    recipients: list[str] = Field(default_factory=list)  # before test-list routing
    ms: int = 0
    # what the test saw of TLS once that step passed (the stage page shows it), else None
    tls_seen: str | None = None

    @property
    def failed_step(self) -> StepReport | None:
        return next((step for step in self.steps if step.status == "failed"), None)

    @property
    def outcome(self) -> str:
        """For the audit trail: sent, checked (check only), or the step that failed."""
        if self.ok:
            return "checked" if self.check_only else "sent"
        failed = self.failed_step
        return f"failed at {failed.name.value}" if failed else "failed"

    def to_json(self, *, with_transcript: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": self.ok,
            "stage": self.stage,
            "app": self.app,
            "redirected": self.redirected,
            "delivered_to": list(self.delivered_to),
            "steps": [step.to_json() for step in self.steps],
            "error": self.error,
            "hint": self.hint,
        }
        if with_transcript:
            data["transcript"] = list(self.transcript)
        return data

    def log_record(self) -> LogRecord | None:
        """The email log's record of this test; None for a check that sent nothing."""
        if self.check_only:
            return None
        reply = self.reply or ""
        if self.ok:
            send = next((s for s in self.steps if s.name == StepName.SEND), None)
            reply = send.detail if send is not None else ""
        elif not reply:
            reply = self.error or ""
        return LogRecord(
            source="send-test",
            stage=self.stage,
            app=self.app,
            outcome=outcome_of_reply(self.reply or "", ok=self.ok),
            message_id=self.message_id,
            subject=self.subject,
            recipients=list(self.recipients),
            delivered_to=list(self.delivered_to),
            redirected=self.redirected,
            reply=reply,
            ms=self.ms,
        )


async def send_test(
    config: EmailConfig,
    *,
    stage: Stage,
    app: App | None,
    recipients: list[str],
    check_only: bool = False,
    timeout: float = 20.0,
    on_step: StepCallback | None = None,
    user: str = "",
) -> SendTestResult:
    """Run the send test. Delivery failures come back as ``ok=False`` with the failed
    step, the server's reply and a hint; only bad input raises (InvalidInput).
    Cancelling the task cancels the test and closes the connection."""
    addressed_to = send_test_recipients(recipients, app=app, stage=stage)
    message = build_test_message(config, stage=stage, app=app, recipients=addressed_to, user=user)
    routed = route(message, app=app, stage=stage)
    result = SendTestResult(
        ok=False,
        stage=stage.name,
        app=app.name if app is not None else None,
        redirected=routed.redirected,
        warning=routed.warning,
        check_only=check_only,
        message_id=str(message["Message-ID"] or ""),
        subject=str(message["Subject"] or ""),
        recipients=list(addressed_to),
    )
    started = time.perf_counter()
    transcript = Transcript()
    forbid_credentials(transcript, config)
    deadline = Deadline(timeout)  # one deadline for every step, the token request included
    recorder = StepRecorder(on_step, clean=transcript.clean, deadline=deadline)
    session = SmtpSession(config, timeout=timeout, transcript=transcript)
    try:
        async with deadline.scope():
            await _converse(
                session, recorder, config, routed.message, routed.recipients, check_only, deadline
            )
        result.ok = True
        result.delivered_to = [] if check_only else list(routed.recipients)
    except StepFailed as failure:
        step = recorder.failed
        where = f"Step {step.name.value}" if step is not None else "Send test"
        result.error = f"{where} failed: {transcript.clean(failure.message)}"
        result.reply = transcript.clean(failure.reply) if failure.reply else None
        hint = failure_hint(
            f"{failure.reply} {failure.message}",
            failure.hint_key,
            config=config,
            claims=session.token_claims,
        )
        result.hint = transcript.clean(hint) if hint else None
    except TimeoutError:
        step = recorder.failed
        where = f"Step {step.name.value}" if step is not None else "Send test"
        result.error = f"{where} failed: {deadline.sentence()}"
        result.hint = hint_for("", "timeout")
    except Exception as exc:  # a failure nobody foresaw is still a result, not a crash
        step = recorder.failed
        where = f"Step {step.name.value}" if step is not None else "Send test"
        detail = f"{type(exc).__name__}: {exc}"
        if transcript.contains_secret(detail):
            detail = type(exc).__name__
        result.error = f"{where} failed unexpectedly: {transcript.clean(detail)}"
    finally:
        session.close()
        result.ms = round((time.perf_counter() - started) * 1000)
        result.steps = recorder.steps
        result.transcript = transcript.lines
        result.tls_seen = tls_seen(config, session.tls, recorder.steps)
    return result


def tls_seen(config: EmailConfig, tls: str, steps: list[StepReport]) -> str | None:
    """ "STARTTLS, TLSv1.3 ...", "implicit TLS, ...", "none: ..." once the TLS step
    passed; None when the test did not get that far (it saw nothing to report)."""
    from mailstage.store.config_rows import SECURITY_LABELS

    if not any(step.name == StepName.TLS and step.status == "ok" for step in steps):
        return None
    if not tls:
        return "none: STARTTLS not offered (plain text, allowed to loopback)"
    return f"{SECURITY_LABELS.get(config.security, config.security)}, {tls}"


async def _converse(
    session: SmtpSession,
    recorder: StepRecorder,
    config: EmailConfig,
    message: EmailMessage,
    recipients: list[str],
    check_only: bool,
    deadline: Deadline,
) -> None:
    async def run(name: StepName, action: Awaitable[str]) -> None:
        with recorder.step(name) as report:
            report.detail = await action

    await connect_and_login(session, config, recorder, deadline=deadline)
    with_connection(message, session.tls)  # the body says what happened, not what was configured
    if not check_only:
        await run(StepName.SEND, session.send(message, recipients))
    await run(StepName.QUIT, session.quit())
