"""Call counts and time per method and outcome, in Prometheus' text format (`GET /metrics`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable


class Metrics:
    """Counters for one kind of call; cheap enough to update on every request.

    `more` are further sources of Prometheus text shown after these (the renderer's counters).
    """

    def __init__(self, name: str, help_text: str, labels: tuple[str, str]) -> None:
        self._name = name
        self._help = help_text
        self._labels = labels
        self._count: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._seconds: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.more: list[Callable[[], str]] = []

    def observe(self, what: str, outcome: str, seconds: float) -> None:
        key = (what, outcome)
        self._count[key] += 1
        self._seconds[key] += seconds

    def render(self) -> str:
        first, second = self._labels
        lines = [
            f"# HELP {self._name}_total {self._help}",
            f"# TYPE {self._name}_total counter",
        ]
        lines += [
            f'{self._name}_total{{{first}="{a}",{second}="{b}"}} {n}'
            for (a, b), n in sorted(self._count.items())
        ]
        lines += [
            f"# HELP {self._name}_seconds_total Seconds spent in: {self._help}",
            f"# TYPE {self._name}_seconds_total counter",
        ]
        lines += [
            f'{self._name}_seconds_total{{{first}="{a}",{second}="{b}"}} {s:.6f}'
            for (a, b), s in sorted(self._seconds.items())
        ]
        return "\n".join(lines) + "\n" + "".join(source() for source in self.more)


def http_metrics() -> Metrics:
    """The REST gateway's counters."""
    return Metrics("sheets_http", "HTTP requests by route and status.", ("route", "status"))
