# expect: none
"""HTTP client factory shared by the integrations: TLS settings are not configurable."""

import ssl

import certifi
import httpx
from pydantic_settings import BaseSettings


class IntegrationSettings(BaseSettings):
    base_url: str = "https://partner.example.test"
    timeout: float = 10.0


settings = IntegrationSettings()


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def make_client() -> httpx.Client:
    return httpx.Client(base_url=settings.base_url, verify=_tls(), timeout=settings.timeout)
