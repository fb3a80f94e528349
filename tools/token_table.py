"""Write the README's token table from service/filling/token_table.py (one command).

    python -m tools.token_table          # rewrites the table in README.md
    python -m tools.token_table --check  # fails when README.md's table is stale

The table sits between the `<!-- token-table -->` and `<!-- /token-table -->` markers.
"""

from __future__ import annotations

import sys

from service.filling import token_table_markdown
from tools.readme_section import main

if __name__ == "__main__":
    sys.exit(
        main(
            "token-table",
            token_table_markdown,
            make_target="token-table",
            description=__doc__.splitlines()[0],
        )
    )
