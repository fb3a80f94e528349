"""The service API both edges call: auth, validation, limits and error translation for every
method, and the statements it runs."""

from service.api.methods import SheetsApi
from service.api.store import SheetStore

__all__ = [
    "SheetStore",
    "SheetsApi",
]
