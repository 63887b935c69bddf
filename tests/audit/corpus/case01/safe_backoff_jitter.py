# expect: none
"""Retrying HTTP client for the payments gateway."""

import random
import time

import requests

MAX_ATTEMPTS = 5
BASE_DELAY = 0.2


def backoff_delay(attempt: int) -> float:
    # "full jitter": spread retries so that clients do not stampede together
    return random.uniform(0, BASE_DELAY * 2**attempt)


def post_with_retry(session: requests.Session, url: str, payload: dict) -> requests.Response:
    last_error: Exception | None = None
    for attempt in range(MAX_ATTEMPTS):
        try:
            response = session.post(url, json=payload, timeout=10)
            if response.status_code < 500:
                return response
        except requests.ConnectionError as exc:
            last_error = exc
        time.sleep(backoff_delay(attempt))
    raise RuntimeError("gateway unavailable") from last_error
