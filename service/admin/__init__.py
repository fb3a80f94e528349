"""Offline data work: the demo data (`sheets seed-demo`) and sheet definitions imported from
Open Dental's XML (`sheets import-sheetdef`)."""

from service.admin.demo import seed_demo
from service.admin.sheetdef_xml import SheetDefFileError, insert_sheetdef, parse_sheetdef

__all__ = [
    "SheetDefFileError",
    "insert_sheetdef",
    "parse_sheetdef",
    "seed_demo",
]
