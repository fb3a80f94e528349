"""Open Dental's seven sheet definitions print as their golden pictures: any visual change is seen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops

from tests.support.golden import golden_paths, pictures
from tests.support.render_pdf import need_fonts
from tests.support.requires import SHEETDEF_FILES, open_dental_files, sheetdef_params

# Anti-aliasing may differ a little between PDFium builds; a moved or missing
# word changes far more pixels than this.
CHANGED_LEVEL = 64
MAX_CHANGED_SHARE = 0.0002


@open_dental_files
def test_there_is_a_golden_picture_for_each_of_the_seven_definitions() -> None:
    assert len(SHEETDEF_FILES) == 7
    for path in SHEETDEF_FILES:
        assert golden_paths(path, 1)[0].is_file(), f"run `make golden` for {path.name}"


@open_dental_files
@pytest.mark.parametrize("path", sheetdef_params())
def test_the_sheet_prints_as_its_golden_picture(path: Path, tmp_path: Path) -> None:
    need_fonts()
    images = pictures(path)
    expected = golden_paths(path, len(images))

    assert [p.name for p in sorted(expected[0].parent.glob(f"{path.stem}-*.png"))] == [
        p.name for p in expected
    ]
    for image, golden_path in zip(images, expected, strict=True):
        golden = Image.open(golden_path).convert("L")
        assert image.size == golden.size
        diff = ImageChops.difference(image, golden).point(lambda level: 255 if level > CHANGED_LEVEL else 0)
        changed = diff.histogram()[255]
        if changed > MAX_CHANGED_SHARE * image.width * image.height:
            image.save(tmp_path / golden_path.name)
            diff.save(tmp_path / f"diff-{golden_path.name}")
            pytest.fail(
                f"{changed} pixels differ from {golden_path.name}; this render: {tmp_path / golden_path.name}"
            )
