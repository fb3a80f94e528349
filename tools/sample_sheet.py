"""Render a demo sheet to docs/sample-sheet.png (`make docs`): the README's picture.

Creates a scratch database with the demo data, creates the demo Medical History
sheet for Robert 'Bob' Smith (pre-filled from the demo rows of Open Dental's
medication, allergy, problem and patientnote tables), renders it with the
service's renderer, then turns the first page into a PNG with pypdfium2.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import pypdfium2

from service import db
from service.demo import seed_demo
from service.render import render_sheet_pdf
from service.settings import Settings
from service.sheets import Practice, create_sheet
from service.store import SheetStore

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "sample-sheet.png"
# A fixed moment, so the picture changes only when rendering does.
MOMENT = datetime(2026, 11, 29, 9, 30)


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
            practice=Practice.from_settings(Settings()),
            now=MOMENT,
        )
        async with SheetStore(engine) as store:
            sheet, fields = await store.load_sheet(sheet_num=sheet_num)
    finally:
        await engine.dispose()
    return render_sheet_pdf(sheet, fields)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pdf = folder / "sample.pdf"
        pdf.write_bytes(asyncio.run(_sample_pdf(folder)))
        OUTPUT.parent.mkdir(exist_ok=True)
        document = pypdfium2.PdfDocument(str(pdf))
        try:
            # 72 dpi: one pixel per point, the sheet at its printed size.
            document[0].render(scale=1).to_pil().save(OUTPUT)
        finally:
            document.close()
    print(OUTPUT.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
