"""Settings, the README's settings table, TLS."""
