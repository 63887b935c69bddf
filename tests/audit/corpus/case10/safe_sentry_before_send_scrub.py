# expect: none
"""Sentry with a scrubber that removes credentials from captured requests."""

import os

import sentry_sdk

SCRUBBED_HEADERS = {"authorization", "cookie", "x-api-key", "proxy-authorization"}


def scrub(event: dict, hint: dict) -> dict:
    request = event.get("request") or {}
    headers = request.get("headers") or {}
    request["headers"] = {
        k: ("[Filtered]" if k.lower() in SCRUBBED_HEADERS else v) for k, v in headers.items()
    }
    request.pop("cookies", None)
    request.pop("data", None)
    return event


sentry_sdk.init(
    dsn=os.environ.get("SENTRY_DSN"),
    before_send=scrub,
    send_default_pii=False,
    traces_sample_rate=0.1,
)
