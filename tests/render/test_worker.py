"""A render process's state: the StaticText layouts its worker keeps (they may hold a patient's
name) are the worker's own, as many as the settings say."""

from __future__ import annotations

from service.config.settings import Settings
from service.render.config import RenderConfig
from service.render.draw.worker import Worker
from service.vocab.enums import SheetFieldType
from tests.support.render_pdf import field, letter


def _statics(count: int) -> list[dict[str, object]]:
    return [field(SheetFieldType.StaticText, f"Patient {n}", YPos=30 * n) for n in range(count)]


def test_the_layout_cache_size_reaches_the_workers_configuration() -> None:
    assert RenderConfig.from_settings(Settings(render_layout_cache_size=7)).layout_cache_size == 7
    assert RenderConfig.from_settings(Settings()).layout_cache_size == RenderConfig().layout_cache_size


def test_a_worker_keeps_at_most_its_configured_number_of_static_layouts() -> None:
    for size, kept in ((2, 2), (0, 0), (100, 5)):
        worker = Worker(RenderConfig(layout_cache_size=size))
        rendered = worker.render(letter(), _statics(5))
        assert rendered.pdf.startswith(b"%PDF")
        assert len(worker.layouts) == kept, f"size {size}"


def test_each_worker_keeps_its_own_layouts() -> None:
    mine, theirs = Worker(RenderConfig(layout_cache_size=10)), Worker(RenderConfig(layout_cache_size=10))
    mine.render(letter(), _statics(3))
    assert (len(mine.layouts), len(theirs.layouts)) == (3, 0)
    mine.layouts.clear()
    assert len(mine.layouts) == 0
