"""Image fields' files: Open Dental's `SheetImages` folder of its A-to-Z images folder.

An Image field's FieldName is a file name in `<images dir>/SheetImages/`;
`SheetImages/<ClinicNum>/` is preferred when the file is there. A name that
is not a plain file name (a path separator, "..", a drive) is refused, so
nothing outside the folder is ever read. A missing or unreadable file draws
nothing and is named in the log.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from reportlab.lib.utils import ImageReader  # type: ignore[import-untyped]

log = logging.getLogger("service.images")

SHEET_IMAGES = "SheetImages"
FORMATS = frozenset({"PNG", "JPEG", "GIF", "BMP"})
# A sheet image is a logo or a diagram; anything bigger is not one.
_MAX_BYTES = 32 << 20
_MAX_PIXELS = 40_000_000


def plain_name(name: str) -> bool:
    """Whether `name` is a file name alone: no folder, no way out of one."""
    return (
        bool(name) and name not in (".", "..") and not any(c in name for c in "/\\:\0") and ".." not in name
    )


def find_image(images_dir: Path | None, clinic_num: int, name: str) -> Path | None:
    """The file an Image field names, or None (missing, refused, or no images folder configured)."""
    if images_dir is None:
        log.warning("image %r not drawn: SHEETS_IMAGES_DIR is not set", name)
        return None
    if not plain_name(name):
        log.warning("image %r not drawn: an image field names a file, not a path", name)
        return None
    folder = images_dir / SHEET_IMAGES
    candidates = [folder / str(clinic_num) / name] if clinic_num > 0 else []
    for path in (*candidates, folder / name):
        if path.is_file():
            return path
    log.warning("image %r not drawn: no such file in %s", name, folder)
    return None


def load_image(path: Path) -> ImageReader | None:
    """The image, decoded once to check it is one of `FORMATS`; None (logged) when it is not readable."""
    try:
        data = path.read_bytes()[: _MAX_BYTES + 1]
        if len(data) > _MAX_BYTES:
            raise ValueError("larger than 32 MiB")
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in FORMATS:
                raise ValueError(f"{image.format} is not PNG, JPEG, GIF or BMP")
            if image.width * image.height > _MAX_PIXELS:
                raise ValueError("more than 40 million pixels")
            image.load()
            # GIF and BMP become PNG-like RGB(A) data; reportlab embeds JPEG as it is.
            if image.format != "JPEG":
                converted = image.convert(
                    "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
                )
                return ImageReader(converted)
        return ImageReader(io.BytesIO(data))
    except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        log.warning("image %s not drawn: %s", path, exc)
        return None
