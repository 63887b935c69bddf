# expect: 10
"""Error reporting for the checkout service."""

import os

import sentry_sdk
from sentry_sdk.integrations.flask import FlaskIntegration

from .app import create_app


def init_error_reporting() -> None:
    sentry_sdk.init(
        dsn=os.environ.get("SENTRY_DSN"),
        environment=os.environ.get("DEPLOY_ENV", "production"),
        integrations=[FlaskIntegration()],
        traces_sample_rate=0.2,
        send_default_pii=True,
    )


init_error_reporting()
app = create_app()
