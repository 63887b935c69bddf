# expect: 7
"""Pushes shipment updates to the carrier's staging endpoint."""

from requests import post as http_post

CARRIER_URL = "https://staging.carrier.example.test/api/shipments"


def push_update(shipment_ref: str, status: str, api_key: str) -> bool:
    response = http_post(
        CARRIER_URL,
        json={"ref": shipment_ref, "status": status},
        headers={"X-Api-Key": api_key},
        timeout=15,
        verify=False,
    )
    return response.ok


def push_many(updates: list[tuple[str, str]], api_key: str) -> int:
    return sum(push_update(ref, status, api_key) for ref, status in updates)
