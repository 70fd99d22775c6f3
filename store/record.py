"""Field-wise ``==`` and a ``repr`` for the plain classes of the one-shot read path: what
``@dataclass`` wrote for them, without importing dataclasses (it imports inspect, ast,
dis and tokenize: ~8 ms of every `mailstage email show`).

A subclass names its fields in FIELDS, in order, and sets them with ``_init`` in its
``__init__``;
NOT_COMPARED leaves some out of ``==`` and NOT_SHOWN out of the repr (a secret never
reaches a repr). A FrozenRecord is hashable and refuses assignment after ``__init__``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing (~2 ms of every one-shot command) only for the checker
if TYPE_CHECKING:
    from typing import Any, ClassVar, NoReturn


class Record:
    FIELDS: ClassVar[tuple[str, ...]] = ()
    NOT_COMPARED: ClassVar[frozenset[str]] = frozenset()
    NOT_SHOWN: ClassVar[frozenset[str]] = frozenset()

    def _init(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS if name not in self.NOT_COMPARED)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._compared() == other._compared()

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self.FIELDS if name not in self.NOT_SHOWN
        )
        return f"{self.__class__.__qualname__}({shown})"


class FrozenRecord(Record):
    def __hash__(self) -> int:
        return hash(self._compared())

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"cannot delete field {name!r}")
