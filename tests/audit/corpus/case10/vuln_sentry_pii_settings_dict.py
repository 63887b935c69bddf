# expect: 10
"""Production settings (Django)."""

import os

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

from .base import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["crm.example.test"]

SENTRY = {
    "dsn": os.environ["SENTRY_DSN"],
    "release": os.environ.get("GIT_SHA", "unknown"),
    "send_default_pii": True,
    "traces_sample_rate": 0.05,
}

sentry_sdk.init(integrations=[DjangoIntegration()], **SENTRY)
