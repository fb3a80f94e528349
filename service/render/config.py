"""What a render is configured with and what it gives back: shared by the
drawing code (`service.render.draw`) and the pool (`service.render.pool`), which
imports the drawing code in its workers only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.config import Settings


@dataclass(frozen=True)
class RenderConfig:
    """Where a renderer finds its fonts and images (`SHEETS_FONT_DIRS`, `SHEETS_IMAGES_DIR`), the
    culture it prints times in (`SHEETS_CULTURE`), and how many StaticText layouts a worker keeps
    (`SHEETS_RENDER_LAYOUT_CACHE_SIZE`)."""

    font_dirs: tuple[Path, ...] = ()
    images_dir: Path | None = None
    system_fonts: bool = True  # also fontconfig's and the usual font folders
    culture: str = "en-US"
    layout_cache_size: int = 4096

    @classmethod
    def from_settings(cls, settings: Settings) -> RenderConfig:
        return cls(
            font_dirs=tuple(settings.font_dirs),
            images_dir=settings.images_dir,
            culture=settings.culture,
            layout_cache_size=settings.render_layout_cache_size,
        )


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered sheet, and what it could not print."""

    pdf: bytes
    replaced_characters: int = 0  # printed as the visible replacement: no font has them
    missing_images: int = 0
