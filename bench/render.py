"""P6: the 249-field PDF next to reportlab drawing the same strings in the same fonts.

Each run is a fresh process pinned to the server core (`python -m bench.render`),
timing with its own CPU clock: renders of Open Dental's MedicalHist sheet warm
(the definition's static layer kept, as a worker keeps it) and cold (the first
render of a definition in a worker: nothing kept), alternating with the
baseline (`reportlab_strings`: `setFont` + `drawString` per printed string on one
page, in the same embedded fonts). Medians per run; the figure is the median of
the runs' ratios.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from bench import runner
from bench.runner import Result
from service.admin import parse_sheetdef
from service.render import fonts
from service.render.draw import paint, worker
from service.vocab import SheetFieldType

RENDERS = 15
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
    height = sheet["Height"] * paint.PT_PER_PX
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(sheet["Width"] * paint.PT_PER_PX, height))
    for field in fields:
        if field["FieldType"] in TEXT and field["FieldValue"]:
            size = field["FontSize"] or sheet["FontSize"]
            canvas.setFont("LiberationSans-Bold" if field["FontIsBold"] else "LiberationSans", size)
            y = height - field["YPos"] * paint.PT_PER_PX - size
            canvas.drawString(field["XPos"] * paint.PT_PER_PX, y, field["FieldValue"])
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def timed(function: Callable[[], object]) -> float:
    # CPU time of this process: other work on the machine does not count.
    start = time.process_time()
    function()
    return time.process_time() - start


def _one_run(renders: int) -> dict[str, float]:
    sheet, fields = load(SHEETDEFS / "MedicalHist.xml")
    fonts.register(fonts.find_fonts())  # once, as each worker does; the baseline draws in them too

    def cold() -> bytes:
        worker.forget_static_layers()  # the bench's business only: what a worker keeps of a definition
        return worker.render_sheet_pdf(sheet, fields)

    def warm() -> bytes:
        return worker.render_sheet_pdf(sheet, fields)

    def baseline() -> bytes:
        return reportlab_strings(sheet, fields)

    for function in (cold, warm, baseline):  # imports, font metrics
        function()
    times: dict[str, list[float]] = {"cold": [], "warm": [], "reportlab": []}
    for _ in range(renders):
        times["cold"].append(timed(cold))
        times["reportlab"].append(timed(baseline))
        times["warm"].append(timed(warm))
        times["reportlab"].append(timed(baseline))
    return {name: statistics.median(values) for name, values in times.items()}


def measure() -> list[Result]:
    warm, cold, medians = [], [], []
    for _ in range(max(runner.RUNS, 3)):
        done = subprocess.run(
            runner.pinned(runner.server_core(), [runner.python(), "-m", "bench.render", "-n", str(RENDERS)]),
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
            cwd=runner.ROOT,
        )
        run = json.loads(done.stdout)
        medians.append(run)
        warm.append(run["warm"] / run["reportlab"])
        cold.append(run["cold"] / run["reportlab"])

    def ms(name: str) -> float:
        return float(statistics.median(m[name] for m in medians)) * 1000

    return [
        Result(
            "P6",
            "249-field PDF, warm / reportlab drawing the same strings",
            "sqlite",
            runner.Figure(warm),
            "<= 3",
            f"{ms('warm'):.1f} ms vs {ms('reportlab'):.1f} ms",
        ),
        Result(
            "P6",
            "249-field PDF, first render of a definition in a worker / reportlab",
            "sqlite",
            runner.Figure(cold),
            "<= 5",
            f"{ms('cold'):.1f} ms vs {ms('reportlab'):.1f} ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="One P6 run: median CPU seconds of each, as JSON.")
    parser.add_argument("-n", type=int, default=RENDERS, help="renders of each")
    print(json.dumps(_one_run(parser.parse_args().n)))


if __name__ == "__main__":
    main()
