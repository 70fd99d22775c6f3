"""What Home says to do next, until the organization is set up (no Textual here)."""

from __future__ import annotations

from mailstage.store.models import Permission, StoreData
from mailstage.store.words import count_text


def next_step(data: StoreData, can: set[Permission]) -> tuple[str, str]:
    """(the next step, the state in one line). The step is empty once every part is
    in place: a stage configured, an app, and a test list with addresses."""
    stages = data.ordered_stages()
    configured = [s for s in stages if s.email is not None]
    apps = data.apps
    with_list = [a for a in apps if any(t.addresses for t in a.test_lists.values())]
    active = sum(1 for a in apps for t in a.test_lists.values() if t.active)
    state = (
        f"{len(configured)} of {len(stages)} stages configured · "
        f"{count_text(len(apps), 'app')} · {count_text(active, 'active test list')}"
    )
    if not configured:
        if Permission.MANAGE_EMAIL_CONFIGURATIONS in can:
            first = stages[0].name if stages else "a stage"
            return (
                f"Next: configure how {first} sends email. Press e, choose {first}, "
                "then e again to fill in its SMTP server.",
                state,
            )
        return "No stage sends email yet: ask an Email Manager to configure one.", state
    if not apps:
        if Permission.MANAGE_APPS in can:
            if tested(data):
                return "Next: add your apps: press a, then n.", state
            return (
                f"Next: send a test through {configured[0].name} (e, then t), and add "
                "your apps: press a, then n.",
                state,
            )
        return "No apps yet: ask an Organization Administrator to add them.", state
    if not with_list and Permission.MANAGE_TEST_LISTS in can:
        return (
            "Next: give an app a test list: press a, Enter on the app, Enter on a "
            "stage, then add addresses.",
            state,
        )
    return "", state


def tested(data: StoreData) -> bool:
    """A Send test went through (sent, or checked) since the store was made: the audit
    trail has it, newest first so the usual answer is found at once."""
    return any(
        event.action == "email.send_test" and event.details.get("outcome") in ("sent", "checked")
        for event in reversed(data.audit)
    )
