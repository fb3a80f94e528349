"""The README's token table is the one generated from the code, and it names every token once."""

from __future__ import annotations

import re

import pytest

from service.filling import token_table
from service.filling.tokens import TOKEN_NAMES
from tests.support import ROOT
from tools.readme_section import with_section

README = ROOT / "README.md"


def test_the_readme_token_table_is_in_sync_with_the_code() -> None:
    text = README.read_text()
    assert with_section(text, "token-table", token_table.token_table_markdown()) == text, (
        "README.md's token table is stale: run `make token-table`"
    )


def test_every_token_is_in_exactly_one_row() -> None:
    assert token_table.unlisted() == ([], [])


def test_a_token_left_out_or_listed_twice_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    (first, *rest), value = token_table.ROWS[0]
    monkeypatch.setattr(token_table, "ROWS", ((tuple(rest), value), *token_table.ROWS[1:], ((rest[0],), "")))

    assert token_table.unlisted() == ([first], [rest[0], rest[0]])


def test_the_readme_counts_the_tokens_the_code_knows() -> None:
    (count,) = re.findall(r"all (\d+) of Open Dental's names are replaced", README.read_text())
    assert int(count) == len(TOKEN_NAMES) == len(set(TOKEN_NAMES))
