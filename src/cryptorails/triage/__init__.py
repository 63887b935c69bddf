"""Diagnosis over captured inputs: tokens, blobs, requests, clocks, logs and nonces.

Operator tooling only: these functions may explain exactly why something failed, so they
are never called on the serving path.
"""
