"""A README section generated from the code: written between its `<!-- name -->` and
`<!-- /name -->` markers, or checked (`--check` fails when the README's copy is stale).

Each generated section has a command of its own in tools/ (`make config-table`, `make token-table`)
and a test that checks the README's copy against `with_section`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def with_section(text: str, name: str, body: str) -> str:
    """`text` (the README) with the part between the section's markers replaced by `body`."""
    start, end = f"<!-- {name} -->\n", f"<!-- /{name} -->"
    head, found_start, rest = text.partition(start)
    _, found_end, tail = rest.partition(end)
    if not found_start or not found_end:
        raise ValueError(f"no {start.strip()} ... {end} markers")
    return head + start + body + end + tail


def main(name: str, body: Callable[[], str], *, make_target: str, description: str) -> int:
    """Rewrite the section in README.md, or with `--check` fail (1) when it is stale."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="fail when the README's table is stale")
    args = parser.parse_args()
    text = README.read_text()
    updated = with_section(text, name, body())
    if args.check:
        if updated != text:
            what = name.replace("-", " ")
            print(f"README.md's {what} is stale: run `make {make_target}`", file=sys.stderr)
            return 1
        return 0
    README.write_text(updated)
    return 0
