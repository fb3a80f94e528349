"""Render a demo sheet to docs/sample-sheet.png (`make docs`): the README's picture.

Creates a scratch database with the demo data, creates the demo Medical History
sheet for a demo patient, renders it with the service's renderer, then turns the
first page into a PNG with poppler's pdftoppm.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from service import db, models
from service.demo import seed_demo
from service.render import render_sheet_pdf
from service.settings import Settings
from service.sheets import Practice, create_sheet
from service.store import SheetStore

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "sample-sheet.png"
# A fixed moment, so the picture changes only when rendering does.
MOMENT = datetime(2026, 11, 29, 9, 30)


# What the patient answered: problem -> "Y"/"N", and the medications box.
ANSWERS = {"Allergy to penicillin": "Y", "High blood pressure": "Y"}
MEDICATIONS = "Lisinopril 10 mg once a day.\r\nNo other medications or supplements."


async def _fill_in(engine: AsyncEngine, sheet_num: int) -> None:
    field = models.SHEETFIELD.c
    async with db.write_transaction(engine) as conn:
        rows = await conn.execute(
            sa.select(field.SheetFieldNum, field.FieldName, field.RadioButtonValue).where(
                field.SheetNum == sheet_num
            )
        )
        for number, name, button in rows.all():
            if name.startswith("problem:"):
                checked = ANSWERS.get(name.removeprefix("problem:"), "N") == button
                value = "X" if checked else ""
            elif name == "medications":
                value = MEDICATIONS
            else:
                continue
            await conn.execute(
                sa.update(models.SHEETFIELD).where(field.SheetFieldNum == number).values(FieldValue=value)
            )


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
        await _fill_in(engine, sheet_num)
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
        subprocess.run(  # noqa: S603
            ["pdftoppm", "-png", "-r", "72", "-singlefile", "-f", "1", str(pdf), str(OUTPUT.with_suffix(""))],  # noqa: S607
            check=True,
        )
    print(OUTPUT.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
