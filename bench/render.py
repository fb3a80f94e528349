"""P6: the 249-field PDF next to reportlab drawing the same strings in the same fonts.

Each run is a fresh process pinned to the server core (`python -m bench.render`),
timing with its own CPU clock: renders of Open Dental's MedicalHist sheet warm
(the definition's static layer kept, as a worker keeps it) and cold (the first
render of a definition in a worker: nothing kept), alternating with the
baseline (`bench.render_bench.reportlab_strings`: `setFont` + `drawString`
per printed string on one page). Medians per run; the figure is the median of
the runs' ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess

from bench import render_bench, runner
from bench.runner import Result
from service import render

RENDERS = 15


def _forget_static_layers() -> None:
    # The bench's business only: what a worker keeps between renders of a definition.
    render._SNIPPETS.clear()


def _one_run(renders: int) -> dict[str, float]:
    sheet, fields = render_bench.load(render_bench.SHEETDEFS / "MedicalHist.xml")

    def cold() -> bytes:
        _forget_static_layers()
        return render.render_sheet_pdf(sheet, fields)

    def warm() -> bytes:
        return render.render_sheet_pdf(sheet, fields)

    def baseline() -> bytes:
        return render_bench.reportlab_strings(sheet, fields)

    for function in (cold, warm, baseline):  # imports, font metrics
        function()
    times: dict[str, list[float]] = {"cold": [], "warm": [], "reportlab": []}
    for _ in range(renders):
        times["cold"].append(render_bench.timed(cold))
        times["reportlab"].append(render_bench.timed(baseline))
        times["warm"].append(render_bench.timed(warm))
        times["reportlab"].append(render_bench.timed(baseline))
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
    parser.add_argument("-n", type=int, default=RENDERS)
    print(json.dumps(_one_run(parser.parse_args().n)))


if __name__ == "__main__":
    main()
