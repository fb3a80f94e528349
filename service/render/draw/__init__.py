"""The drawing code (xhtml2pdf, reportlab): imported by the render workers and `sheets render` only."""

from service.render.draw.worker import render_sheet, render_sheet_pdf

__all__ = [
    "render_sheet",
    "render_sheet_pdf",
]
