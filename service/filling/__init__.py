"""Creating a sheet by Open Dental's rules: the fields copied from its definition, filled from the
patient's tables and the practice, with the values a caller gives."""

from service.filling.create import Practice, create_sheet
from service.filling.field_values import GivenValue, value_problem
from service.filling.token_table import token_table_markdown

__all__ = [
    "GivenValue",
    "Practice",
    "create_sheet",
    "token_table_markdown",
    "value_problem",
]
