"""Write the README's configuration table from the Settings class (one command).

    python tools/config_table.py          # rewrites the table in README.md
    python tools/config_table.py --check  # fails when README.md's table is stale

The table sits between the `<!-- settings-table -->` and `<!-- /settings-table -->` markers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sheets.config_report import with_settings_table

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the README's table is stale")
    args = parser.parse_args()
    text = README.read_text()
    updated = with_settings_table(text)
    if args.check:
        if updated != text:
            print("README.md's settings table is stale: run `make config-table`", file=sys.stderr)
            return 1
        return 0
    README.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
