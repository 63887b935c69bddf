# expect: none
"""Event dispatch for the notifications service."""

from collections.abc import Callable

from flask import Flask, abort, request

app = Flask(__name__)
ALLOWED_EVENTS = {"invoice.paid", "invoice.failed", "customer.created"}
_handlers: dict[str, Callable[[dict], None]] = {}


def on(event_type: str):
    def register(fn: Callable[[dict], None]) -> Callable[[dict], None]:
        _handlers[event_type] = fn
        return fn

    return register


@on("invoice.paid")
def send_receipt(event: dict) -> None:
    print("receipt queued for invoice", event["invoice"])


@app.post("/internal/events")
def dispatch():
    event = request.get_json()
    if event["type"] not in ALLOWED_EVENTS or event["type"] not in _handlers:
        abort(404)
    _handlers[event["type"]](event)
    return {"dispatched": event["type"]}
