"""Write the README's token table from service/filling/token_table.py (one command).

    python tools/token_table.py          # rewrites the table in README.md
    python tools/token_table.py --check  # fails when README.md's table is stale

The table sits between the `<!-- token-table -->` and `<!-- /token-table -->` markers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from service.filling import with_token_table

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the README's table is stale")
    args = parser.parse_args()
    text = README.read_text()
    updated = with_token_table(text)
    if args.check:
        if updated != text:
            print("README.md's token table is stale: run `make token-table`", file=sys.stderr)
            return 1
        return 0
    README.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
