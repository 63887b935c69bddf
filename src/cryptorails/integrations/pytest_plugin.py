"""pytest plugin: fails a test whose output leaks a secret (being written)."""
