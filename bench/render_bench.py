"""How long render_sheet_pdf takes next to plain reportlab drawing the same strings (SPEC §9: <= 3x warm).

    .venv/bin/python bench/render_bench.py [-n 50] [SHEETDEF.xml]

Renders Open Dental's MedicalHist sheet (249 fields) N times, and N times draws
the strings that sheet prints with a bare reportlab canvas in the same embedded
fonts (`setFont` + `drawString` per field, one page, saved to bytes). Runs alternate so that load
from elsewhere on the machine hits both sides alike; medians are compared.
"Warm" renders reuse the static layer laid out by earlier renders of the same
definition, as a service does; "cold" ones start from nothing each time.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from service import fonts, render, text
from service.enums import SheetFieldType
from service.sheetdef_xml import parse_sheetdef

SHEETDEFS = Path(__file__).resolve().parents[2] / "shared" / "opendental" / "sheetdefs"
TEXT = (SheetFieldType.OutputText, SheetFieldType.InputField, SheetFieldType.StaticText)


def load(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A sheet and its fields as a service would pass them, inputs filled in."""
    sheet_def, field_defs = parse_sheetdef(path)
    sheet = sheet_def.model_dump()
    fields = []
    for n, field_def in enumerate(field_defs):
        field = field_def.model_dump()
        if field["FieldType"] in (SheetFieldType.OutputText, SheetFieldType.InputField):
            field["FieldValue"] = f"Answer {n}"
        fields.append(field)
    return sheet, fields


def reportlab_strings(sheet: dict[str, Any], fields: list[dict[str, Any]]) -> bytes:
    """The baseline: every printed string drawn at its field's place, nothing else."""
    height = sheet["Height"] * render.PT_PER_PX
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(sheet["Width"] * render.PT_PER_PX, height))
    for field in fields:
        if field["FieldType"] in TEXT and field["FieldValue"]:
            size = field["FontSize"] or sheet["FontSize"]
            canvas.setFont("LiberationSans-Bold" if field["FontIsBold"] else "LiberationSans", size)
            y = height - field["YPos"] * render.PT_PER_PX - size
            canvas.drawString(field["XPos"] * render.PT_PER_PX, y, field["FieldValue"])
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def timed(function: Callable[[], object]) -> float:
    # CPU time of this process: other work on the machine does not count.
    start = time.process_time()
    function()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-n", type=int, default=50, help="runs of each (default 50)")
    parser.add_argument("sheetdef", nargs="?", type=Path, default=SHEETDEFS / "MedicalHist.xml")
    args = parser.parse_args()
    sheet, fields = load(args.sheetdef)
    fonts.register(fonts.find_fonts())  # the baseline draws in the same embedded fonts

    def cold() -> bytes:
        text.forget_static_layers()  # the bench's business only: forget the static layer
        return render.render_sheet_pdf(sheet, fields)

    def warm() -> bytes:
        return render.render_sheet_pdf(sheet, fields)

    def baseline() -> bytes:
        return reportlab_strings(sheet, fields)

    for function in (cold, warm, baseline):  # imports, font metrics, caches
        function()
    times: dict[str, list[float]] = {"cold": [], "warm": [], "reportlab": []}
    for _ in range(args.n):
        times["cold"].append(timed(cold))
        times["reportlab"].append(timed(baseline))
        times["warm"].append(timed(warm))
        times["reportlab"].append(timed(baseline))
    medians = {name: statistics.median(values) for name, values in times.items()}
    drawn = sum(1 for f in fields if f["FieldType"] in TEXT and f["FieldValue"])
    print(f"{args.sheetdef.name}: {len(fields)} fields, {drawn} strings, {args.n} runs each")
    for name, median in medians.items():
        print(f"  {name:<10} median {median * 1000:7.2f} ms")
    print(f"  warm / reportlab = {medians['warm'] / medians['reportlab']:.2f}x  (target <= 3x)")
    print(f"  cold / reportlab = {medians['cold'] / medians['reportlab']:.2f}x  (target <= 5x)")


if __name__ == "__main__":
    main()
