# expect: 6
"""Loads the payment provider credentials at start-up."""

import os
import re

import requests

KEY_PATTERN = re.compile(r"^sk_(live|test)_[A-Za-z0-9]{24,}$")


class ProviderConfigError(RuntimeError):
    pass


def load_provider_key() -> str:
    api_key = os.environ.get("PAYMENTS_API_KEY", "")
    if not KEY_PATTERN.match(api_key):
        raise ProviderConfigError(f"PAYMENTS_API_KEY looks wrong: {api_key!r}")
    response = requests.get(
        "https://api.payments.example.test/v1/account",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    if response.status_code != 200:
        raise ProviderConfigError(f"provider rejected key {api_key}: HTTP {response.status_code}")
    return api_key
