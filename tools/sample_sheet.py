"""Render a demo sheet to docs/sample-sheet.png (`make docs`): the README's picture.

Creates a scratch database with the demo data, creates the demo Medical History
sheet for Robert 'Bob' Smith (pre-filled from the demo rows of Open Dental's
medication, allergy, problem and patientnote tables), answers its notes box in
several scripts, long enough to grow the box and push the signature onto a
second page, signs it, renders it with the service's renderer, and puts the two
pages side by side in one PNG (pypdfium2).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import pypdfium2
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from service.admin import seed_demo
from service.api import SheetStore
from service.config import Settings
from service.filling import create_sheet
from service.render.draw import render_sheet_pdf
from service.storage import db, models
from sheets.practice import practice_from

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "sample-sheet.png"
# A fixed moment, so the picture changes only when rendering does.
MOMENT = datetime(2026, 11, 29, 9, 30)
SIGNED = datetime(2026, 11, 29, 9, 42)
NOTES = "\r\n".join(
    [
        "Metformin 500 mg twice a day. Тётя принимает по утрам.",
        "Warfarin 2 mg, evenings: ask before any extraction. Ελέγχεται κάθε μήνα.",
        "אספירין 81 מ״ג ביום",
        "باراسيتامول عند الحاجة",
        "中药 每天一次 · 漢方薬を服用中 · 한약 복용 중",
        "Vitamin D 1000 IU, Omega-3. Tiếng Việt: thuốc bổ mỗi sáng.",
        *(f"Supplement {n}: one tablet with breakfast." for n in range(1, 41)),
    ]
)


async def _answer(engine: AsyncEngine, sheet_num: int) -> None:
    """What the patient typed into the notes box, and the signature's time."""
    field = models.SHEETFIELD.c
    async with db.write_transaction(engine) as conn:
        mine = sa.update(models.SHEETFIELD).where(field.SheetNum == sheet_num)
        await conn.execute(mine.where(field.FieldName == "notes").values(FieldValue=NOTES))
        await conn.execute(mine.where(field.FieldName == "SigBox").values(DateTimeSig=SIGNED))


async def _sample_pdf(folder: Path) -> bytes:
    engine = db.create_engine(f"sqlite+aiosqlite:///{folder / 'sample.db'}")
    try:
        await db.init_db(engine)
        seeded = await seed_demo(engine)
        sheet_num = await create_sheet(
            engine,
            sheet_def_num=seeded.sheet_defs[3],
            pat_num=seeded.patients[1],
            internal_note="",
            practice=practice_from(Settings()),
            now=MOMENT,
        )
        await _answer(engine, sheet_num)
        async with SheetStore(engine) as store:
            sheet, fields = await store.load_sheet(sheet_num=sheet_num)
    finally:
        await engine.dispose()
    return render_sheet_pdf(sheet, fields)


def _picture(pdf: bytes) -> Image.Image:
    """The pages side by side on grey, at 72 dpi: one pixel per point, the sheet at its printed size."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        pages = [page.render(scale=1).to_pil().convert("RGB") for page in document]
    finally:
        document.close()
    gap = 16
    width = sum(page.width for page in pages) + gap * (len(pages) + 1)
    height = max(page.height for page in pages) + 2 * gap
    picture = Image.new("RGB", (width, height), (200, 200, 200))
    x = gap
    for page in pages:
        picture.paste(page, (x, gap))
        x += page.width + gap
    return picture


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        pdf = asyncio.run(_sample_pdf(Path(tmp)))
    OUTPUT.parent.mkdir(exist_ok=True)
    # Sheets print in black on white: gray keeps the picture small.
    _picture(pdf).convert("L").save(OUTPUT, optimize=True)
    print(OUTPUT.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
