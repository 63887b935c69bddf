# expect: 3
"""Remote feature configuration pushed by the control plane, signed with HMAC."""

import hashlib
import hmac
import os

import yaml

CONTROL_PLANE_KEY = os.environ["CONTROL_PLANE_KEY"].encode()


class SignedConfigLoader:
    def __init__(self, apply) -> None:
        self._apply = apply

    def load(self, document: str) -> None:
        data = yaml.safe_load(document)
        config, signature = data["config"], data["signature"]
        mac = hmac.new(CONTROL_PLANE_KEY, repr(config).encode(), hashlib.sha512).hexdigest()
        if not hmac.compare_digest(mac, signature):
            raise PermissionError("config signature mismatch")
        self._apply(config)
