"""Golden pictures of Open Dental's own sheet definitions as this renderer prints them (`make golden`).

Each definition in ../shared/opendental/sheetdefs, every input filled in as
`sheet_from_def` fills it, rendered and rasterized in Python (PDFium, gray,
144 dpi), one PNG per page under tests/golden/. `tests/render/test_golden.py` renders
them again and compares; after a deliberate visual change, `make golden`
writes them anew and the diff of the PNGs shows what changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

from service.render.draw.worker import render_sheet_pdf
from tests.support.render_pdf import GOLDEN, page_count, rasterize, sheet_from_def
from tests.support.requires import SHEETDEF_FILES

# 144 dpi: fine enough that a line's width or a word's pixel of movement shows.
SCALE = 2.0


def pictures(path: Path) -> list[Image.Image]:
    """Each page of the definition's sheet, as a gray image."""
    pdf = render_sheet_pdf(*sheet_from_def(path))
    pages = []
    for page in range(1, page_count(pdf) + 1):
        raster = rasterize(pdf, page, scale=SCALE)
        pages.append(Image.frombytes("L", (raster.width, raster.height), raster.data))
    return pages


def golden_paths(path: Path, pages: int) -> list[Path]:
    return [GOLDEN / f"{path.stem}-{page}.png" for page in range(1, pages + 1)]


def main() -> int:
    if not SHEETDEF_FILES:
        print("no sheet definitions beside the clone (../shared/opendental/sheetdefs)", file=sys.stderr)
        return 1
    GOLDEN.mkdir(exist_ok=True)
    for old in GOLDEN.glob("*.png"):
        old.unlink()
    for path in SHEETDEF_FILES:
        images = pictures(path)
        for image, target in zip(images, golden_paths(path, len(images)), strict=True):
            image.save(target, optimize=True)
            print(target.relative_to(GOLDEN.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
