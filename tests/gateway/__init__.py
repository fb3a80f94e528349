"""The REST gateway: routes, JSON dialect, dates, OpenAPI."""
