# expect: 7
"""HTTP client factory shared by the integrations."""

import httpx
from pydantic_settings import BaseSettings


class IntegrationSettings(BaseSettings):
    base_url: str = "https://partner.example.test"
    verify_tls: bool = True
    timeout: float = 10.0


settings = IntegrationSettings()


def make_client() -> httpx.Client:
    return httpx.Client(
        base_url=settings.base_url,
        verify=settings.verify_tls,
        timeout=settings.timeout,
        headers={"User-Agent": "integrations/1.4"},
    )
