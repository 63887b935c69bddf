# expect: none
"""Error reporting for the checkout service (no personal data sent)."""

import os

import sentry_sdk
from sentry_sdk.integrations.flask import FlaskIntegration


def init_error_reporting() -> None:
    sentry_sdk.init(
        dsn=os.environ.get("SENTRY_DSN"),
        environment=os.environ.get("DEPLOY_ENV", "production"),
        integrations=[FlaskIntegration()],
        traces_sample_rate=0.2,
        send_default_pii=False,
        max_request_body_size="never",
    )
