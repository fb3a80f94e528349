"""Rendering a sheet to PDF in worker processes. The serving process imports this package
(the pool and what a render is given), never `service.render.draw`."""

from service.render.config import RenderConfig
from service.render.pool import WARM_DEFINITIONS, PdfRenderer

__all__ = [
    "WARM_DEFINITIONS",
    "PdfRenderer",
    "RenderConfig",
]
