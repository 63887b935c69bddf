# expect: 7
"""Fetches the exchange's price feed with the standard library only."""

import json
import ssl
import urllib.request

FEED_URL = "https://feed.exchange.example.test/v1/prices"


def fetch_prices(symbols: list[str]) -> dict[str, float]:
    url = f"{FEED_URL}?symbols={','.join(symbols)}"
    context = ssl._create_unverified_context()
    with urllib.request.urlopen(url, context=context, timeout=15) as response:
        data = json.load(response)
    return {item["symbol"]: float(item["price"]) for item in data["prices"]}
