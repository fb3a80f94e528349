"""Image fields: drawn from Open Dental's SheetImages folder, stretched to their box; nothing else is read."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PIL import Image

from service.config.settings import Settings
from service.render.config import RenderConfig
from service.render.draw.worker import render_sheet
from service.render.pool import PdfRenderer
from service.vocab.enums import SheetFieldType
from tests.support.render_pdf import PT, field, letter, page_count, rasterize

RED, BLUE = (255, 0, 0), (0, 0, 255)


def image_file(
    path: Path, color: tuple[int, int, int], kind: str = "PNG", size: tuple[int, int] = (8, 4)
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, kind)
    return path


def logo(name: str = "logo.png", **columns: object) -> dict[str, object]:
    return (
        field(SheetFieldType.Image, "", FieldName=name, XPos=100, YPos=100, Width=200, Height=100) | columns
    )


def colour_at(pdf: bytes, x_px: float, y_px: float) -> tuple[int, ...]:
    return rasterize(pdf, gray=False).at(x_px * PT, y_px * PT)


def close(pixel: tuple[int, ...], color: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, color, strict=True))


@pytest.mark.parametrize("kind", ["PNG", "JPEG", "GIF", "BMP"])
def test_an_image_prints_from_sheet_images_stretched_to_its_box(tmp_path: Path, kind: str) -> None:
    image_file(tmp_path / "SheetImages" / "logo.img", RED, kind)
    rendered = render_sheet(letter(), [logo("logo.img")], RenderConfig(images_dir=tmp_path))

    for x, y in ((103, 103), (297, 197), (200, 150)):  # the corners and the middle of the box
        assert close(colour_at(rendered.pdf, x, y), RED), (x, y)
    for x, y in ((95, 150), (305, 150), (200, 95), (200, 205)):
        assert close(colour_at(rendered.pdf, x, y), (255, 255, 255)), (x, y)
    assert rendered.missing_images == 0


def test_the_clinics_own_folder_is_preferred_when_the_file_is_there(tmp_path: Path) -> None:
    image_file(tmp_path / "SheetImages" / "logo.png", RED)
    image_file(tmp_path / "SheetImages" / "3" / "logo.png", BLUE)
    config = RenderConfig(images_dir=tmp_path)

    assert close(colour_at(render_sheet(letter(ClinicNum=3), [logo()], config).pdf, 200, 150), BLUE)
    assert close(colour_at(render_sheet(letter(ClinicNum=4), [logo()], config).pdf, 200, 150), RED)
    assert close(colour_at(render_sheet(letter(), [logo()], config).pdf, 200, 150), RED)


def test_a_missing_image_draws_nothing_is_logged_and_takes_no_room(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = [logo("absent.png", YPos=1000, Height=300), field(SheetFieldType.StaticText, "Still here")]
    with caplog.at_level(logging.WARNING):
        rendered = render_sheet(letter(), rows, RenderConfig(images_dir=tmp_path))

    assert page_count(rendered.pdf) == 1  # a missing image makes no page of its own
    assert rendered.missing_images == 1
    assert any("absent.png" in r.getMessage() for r in caplog.records)
    assert rasterize(rendered.pdf).darkest(100 * PT, 120 * PT, 300 * PT, 200 * PT) == 255


def test_an_unreadable_image_draws_nothing_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "SheetImages" / "broken.png"
    broken.parent.mkdir()
    broken.write_bytes(b"\x89PNG not really")
    image_file(tmp_path / "SheetImages" / "photo.tiff", RED, "TIFF")
    with caplog.at_level(logging.WARNING):
        rendered = render_sheet(
            letter(), [logo("broken.png"), logo("photo.tiff", YPos=300)], RenderConfig(images_dir=tmp_path)
        )

    assert rendered.missing_images == 2
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "broken.png" in messages
    assert "photo.tiff" in messages
    assert rasterize(rendered.pdf).darkest(0, 0, 612, 792) == 255


@pytest.mark.parametrize(
    "name", ["../secret.png", "..", "sub/logo.png", "sub\\logo.png", "/etc/secret.png", "C:logo.png"]
)
def test_a_name_that_is_a_path_is_refused_and_nothing_outside_the_folder_is_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    image_file(tmp_path / "secret.png", RED)  # beside SheetImages, reachable by ../
    image_file(tmp_path / "SheetImages" / "sub" / "logo.png", RED)
    with caplog.at_level(logging.WARNING):
        rendered = render_sheet(letter(), [logo(name)], RenderConfig(images_dir=tmp_path))

    assert rendered.missing_images == 1
    assert rasterize(rendered.pdf).darkest(0, 0, 612, 792) == 255
    assert any("not a path" in r.getMessage() for r in caplog.records)


def test_without_an_images_folder_an_image_field_draws_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        rendered = render_sheet(letter(), [logo()], RenderConfig())

    assert rendered.missing_images == 1
    assert any("SHEETS_IMAGES_DIR" in r.getMessage() for r in caplog.records)


def test_the_folders_come_from_sheets_images_dir_and_sheets_font_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHEETS_IMAGES_DIR", str(tmp_path / "A-Z"))
    monkeypatch.setenv("SHEETS_FONT_DIRS", f"{tmp_path / 'one'}:{tmp_path / 'two'},{tmp_path / 'three'}")
    config = RenderConfig.from_settings(Settings())

    assert config.images_dir == tmp_path / "A-Z"
    assert config.font_dirs == (tmp_path / "one", tmp_path / "two", tmp_path / "three")


async def test_the_render_workers_read_images_from_the_configured_folder(tmp_path: Path) -> None:
    image_file(tmp_path / "SheetImages" / "logo.png", BLUE)
    async with PdfRenderer(1, config=RenderConfig(images_dir=tmp_path)) as renderer:
        pdf = await renderer.render(letter(), [logo(), logo("absent.png", YPos=300)])

    assert close(colour_at(pdf, 200, 150), BLUE)
    assert renderer.counts.missing_images == 1
