"""Constants shared by the backup tests."""

TENANT = "acme"
CHUNK = 1024  # the smallest chunk size: many chunks from little data
