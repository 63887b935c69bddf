# expect: none
"""Runtime switches for product features and diagnostics (none of them security checks)."""

import logging
import os

from django.conf import settings

NEW_CHECKOUT = os.getenv("ENABLE_NEW_CHECKOUT", "0") == "1"


def configure_logging() -> None:
    if os.getenv("DEBUG_SQL"):
        logging.getLogger("django.db.backends").setLevel(logging.DEBUG)


def checkout_template() -> str:
    return "checkout/v2.html" if NEW_CHECKOUT else "checkout/v1.html"


def page_size() -> int:
    return 100 if settings.LARGE_PAGES else 25


def show_beta_banner(request) -> bool:
    return bool(os.environ.get("SHOW_BETA_BANNER")) and request.user.is_authenticated
