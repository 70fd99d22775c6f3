"""Add a stage from the Emails screen: its name and whether it is a production stage,
added through the Workspace with the CLI's rules (`mailstage stage add`)."""

from __future__ import annotations

from collections.abc import Iterator

from textual.widget import Widget
from textual.widgets import Checkbox

from mailstage.screens.add_by_name import AddByNameModal, cancel_binding


class AddStageModal(AddByNameModal):
    """Returns the new stage's name, or None when nothing was added."""

    THING = "stage"
    BINDINGS = cancel_binding(THING)
    PLACEHOLDER = "e.g. Staging"
    HELP = (
        "Type the new stage's name (unique, ignoring case) and press Enter; tick "
        "Production stage for a stage whose mail reaches real users. Esc adds nothing."
    )

    def extra_fields(self) -> Iterator[Widget]:
        yield Checkbox("Production stage (real users receive its mail)", id="add-stage-prod")

    def add(self, name: str) -> str:
        production = self.query_one("#add-stage-prod", Checkbox).value
        return self.workspace.add_stage(name, production).name
