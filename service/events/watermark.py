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

from service.errors import InvalidArgument

_CURSOR_TIME = "%Y%m%d%H%M%S"


@dataclass(frozen=True, slots=True)
class Watermark:
    """Changes at or after `start` are still to come, except those of the SheetNums in `sent` at `start`."""

    start: datetime
    sent: frozenset[int] = field(default_factory=frozenset)

    def after(self, changes: Iterable[tuple[datetime, int]]) -> Watermark:
        """The watermark once the (change time, SheetNum) pairs, in change order, have been sent."""
        start, sent = self.start, set(self.sent)
        for changed, sheet_num in changes:
            if changed > start:
                start, sent = changed, set()
            if changed == start:
                sent.add(sheet_num)
        return Watermark(start, frozenset(sent))

    # Stored in the subscription row beside DateTimeStart.

    def sent_text(self) -> str:
        return " ".join(str(n) for n in sorted(self.sent))

    @classmethod
    def stored(cls, start: datetime, sent_text: str) -> Watermark:
        sent = frozenset(int(part) for part in sent_text.split() if part.isdigit())
        return cls(start, sent)

    # Handed to a stream's client: `yyyyMMddHHmmss[:SheetNum,…]`.

    def cursor(self) -> str:
        text = self.start.strftime(_CURSOR_TIME)
        return f"{text}:{','.join(str(n) for n in sorted(self.sent))}" if self.sent else text

    @classmethod
    def from_cursor(cls, cursor: str) -> Watermark:
        when, _, nums = cursor.partition(":")
        try:
            if len(when) != len("20260101000000") or not when.isdigit():
                raise ValueError(when)
            start = datetime.strptime(when, _CURSOR_TIME)
            sent = frozenset(int(n) for n in nums.split(",")) if nums else frozenset[int]()
        except ValueError:
            raise InvalidArgument(
                "Cursor is invalid: use one a WatchSheets response gave, or none to start now.",
                field="Cursor",
            ) from None
        return cls(start, sent)
