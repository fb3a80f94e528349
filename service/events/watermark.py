"""Where a reader of the sheet changes stands: a second, and the sheets already
seen whose change is at that second.

Open Dental stores times to the second. A watermark of a time alone would
either send a change again (reading `>=`) or miss a second change in the
watermark's second that comes after a first was sent (reading `>`); keeping
the SheetNums sent at that second sends both, each once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from service.contract import InvalidArgument

_CURSOR_TIME = "%Y%m%d%H%M%S"


@dataclass(frozen=True, slots=True)
class Watermark:
    """Changes at or after `start` are still to come, except those at `start` of the SheetNums in `sent`
    or up to `through` (a stream's cursor: it reads ended seconds in SheetNum order)."""

    start: datetime
    sent: frozenset[int] = field(default_factory=frozenset)
    through: int = 0

    def seen(self, changed: datetime, sheet_num: int) -> bool:
        return changed == self.start and (sheet_num <= self.through or sheet_num in self.sent)

    def after(self, changes: Iterable[tuple[datetime, int]]) -> Watermark:
        """The watermark once the (change time, SheetNum) pairs, in change order, have been sent."""
        start, sent, through = self.start, set(self.sent), self.through
        for changed, sheet_num in changes:
            if changed > start:
                start, sent, through = changed, set(), 0
            if changed == start:
                sent.add(sheet_num)
        return Watermark(start, frozenset(sent), through)

    # Stored in the subscription row beside DateTimeStart.

    def sent_text(self) -> str:
        return " ".join(str(n) for n in sorted(self.sent))

    @classmethod
    def stored(cls, start: datetime, sent_text: str) -> Watermark:
        sent = frozenset(int(part) for part in sent_text.split() if part.isdigit())
        return cls(start, sent)

    # Handed to a stream's client: `yyyyMMddHHmmss.SheetNum`, the last change it was given.

    @classmethod
    def at(cls, changed: datetime, sheet_num: int) -> Watermark:
        return cls(changed, through=sheet_num)

    def cursor(self) -> str:
        return f"{self.start.strftime(_CURSOR_TIME)}.{max(self.sent, default=self.through)}"

    @classmethod
    def from_cursor(cls, cursor: str) -> Watermark:
        when, _, through = cursor.partition(".")
        try:
            if len(when) != len("20260101000000") or not when.isdigit() or not through.isdigit():
                raise ValueError(when)
            return cls(datetime.strptime(when, _CURSOR_TIME), through=int(through))
        except ValueError:
            raise InvalidArgument(
                "Cursor is invalid: use one a WatchSheets response gave, or none to start now.",
                field="Cursor",
            ) from None
