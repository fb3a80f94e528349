"""Write the README's configuration table from the Settings class (one command).

    python -m tools.config_table          # rewrites the table in README.md
    python -m tools.config_table --check  # fails when README.md's table is stale

The table sits between the `<!-- settings-table -->` and `<!-- /settings-table -->` markers.
"""

from __future__ import annotations

import sys

from sheets.config_report import settings_table
from tools.readme_section import main

if __name__ == "__main__":
    sys.exit(
        main(
            "settings-table", settings_table, make_target="config-table", description=__doc__.splitlines()[0]
        )
    )
