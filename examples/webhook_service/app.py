"""Example webhook receiver (FastAPI): Standard Webhooks with a replay guard on a shared store.

Run it (from this folder) with::

    WEBHOOK_SECRET=whsec_... uvicorn --factory app:create_app --host 127.0.0.1 --port 8000

Configuration, from the environment:

- ``WEBHOOK_SECRET`` (required): the endpoint's ``whsec_...`` secret.
- ``CRYPTORAILS_STORE_URL``: where replay records live, shared by every instance
  (default ``sqlite:///<tmp>/replay.db``; ``redis://host:6379/0`` for a fleet).
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request

from cryptorails import canonical
from cryptorails.clock import Window
from cryptorails.integrations.asgi import SignedRequestMiddleware
from cryptorails.replay import ReplayGuard
from cryptorails.stores import open_store
from cryptorails.webhooks import WebhookVerifier

DEFAULT_STORE_URL = f"sqlite://{Path(tempfile.gettempdir()) / 'replay.db'}"


def _log_verify_failures() -> None:
    """Print `verify_failed` events: each message is one JSON object (a real service
    would ship them to its log pipeline; `cryptorails triage logs` summarizes them)."""
    logger = logging.getLogger("cryptorails.verify")
    if logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def create_app(store_url: str | None = None, secret: str | None = None) -> FastAPI:
    """The service: ``POST /webhooks`` (verified) and ``GET /health`` (open)."""
    store_url = store_url or os.environ.get("CRYPTORAILS_STORE_URL") or DEFAULT_STORE_URL
    secret = secret or os.environ.get("WEBHOOK_SECRET")
    if not secret:
        raise SystemExit("set WEBHOOK_SECRET to the endpoint's whsec_... secret")
    _log_verify_failures()
    store = open_store(store_url, namespace="webhook-demo")
    # Every instance checks the signed message (webhook-id + signed timestamp) against the
    # same store: a message accepted by one instance is refused by all the others.
    guard = ReplayGuard(store, Window(timedelta(minutes=5)))
    app = FastAPI()

    @app.post("/webhooks")
    async def receive_webhook(request: Request) -> dict[str, object]:
        # The middleware verified exactly these bytes; parse them, not a re-read.
        event = canonical.loads(await request.body())
        kind = event.get("type") if isinstance(event, dict) else None
        return {"accepted": request.headers["webhook-id"], "type": kind}

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    app.add_middleware(
        SignedRequestMiddleware,
        verifier=WebhookVerifier(secret, guard=guard),
        paths=["/webhooks"],
        tenant="demo",
    )
    return app
