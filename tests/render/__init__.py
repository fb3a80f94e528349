"""Rendering: layout, text, fonts, images, the worker pool, golden PDFs."""
