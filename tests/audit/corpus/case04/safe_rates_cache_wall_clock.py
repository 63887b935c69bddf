# expect: none
"""Currency conversion endpoint with a small in-process cache of public exchange rates."""

import time

import requests
from flask import Flask, request

app = Flask(__name__)
RATES_URL = "https://rates.example.test/latest.json"
CACHE_SECONDS = 600
_rates_cache: dict[str, object] = {"fetched": 0.0, "rates": {}}


def current_rates() -> dict[str, float]:
    if time.time() - float(_rates_cache["fetched"]) > CACHE_SECONDS:
        _rates_cache["rates"] = requests.get(RATES_URL, timeout=5).json()["rates"]
        _rates_cache["fetched"] = time.time()
    return _rates_cache["rates"]  # type: ignore[return-value]


@app.get("/convert")
def convert():
    amount = float(request.args["amount"])
    rate = current_rates()[request.args["to"].upper()]
    return {"amount": round(amount * rate, 2)}
