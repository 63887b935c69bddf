# expect: none
"""Geocoding client; runs without a key in development (lower rate limits)."""

import os

import requests

GEOCODER_URL = "https://geo.example.test/v1/search"
GEOCODER_KEY = os.environ.get("GEOCODER_API_KEY", "")


def geocode(address: str) -> tuple[float, float] | None:
    headers = {"X-Api-Key": GEOCODER_KEY} if GEOCODER_KEY else {}
    response = requests.get(GEOCODER_URL, params={"q": address}, headers=headers, timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    hit = response.json()["results"][0]
    return hit["lat"], hit["lon"]
