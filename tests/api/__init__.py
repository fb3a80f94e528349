"""The service API: methods, limits, the statements it runs, rows to messages."""
