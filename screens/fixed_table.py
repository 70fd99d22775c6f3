"""A DataTable for long lists whose columns all have a fixed width.

DataTable measures every cell of every new row to size auto-width columns; with
fixed widths that work is thrown away, and for 1,000 apps it is most of the time the
Apps list takes to open. This table skips it when no column is auto-width, no row
has a label and every row is one line high (else it does what DataTable does).
Textual is pinned exactly (pyproject.toml): the private names below are checked by
tests/test_tui_apps_scale.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class FixedWidthTable(DataTable[object]):
    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        rows = list(new_rows)
        simple = not any(c.auto_width for c in self.columns.values()) and all(
            (row := self.rows.get(key)) is None or (row.label is None and not row.auto_height)
            for key in rows
        )
        if not simple:
            super()._update_dimensions(rows)
            return
        width = sum(c.get_render_width(self) for c in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            width + self._row_label_column_width, self._total_row_height + header
        )
