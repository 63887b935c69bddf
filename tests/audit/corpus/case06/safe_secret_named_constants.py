# expect: none
"""Settings for the OAuth integration: names and places, not values."""

import os

import boto3

TOKEN_URL = "https://auth.example.test/oauth2/token"
AUTHORIZE_URL = "https://auth.example.test/oauth2/authorize"
SECRET_HEADER = "X-Webhook-Secret"
API_KEY_HEADER = "X-Api-Key"
CLIENT_SECRET_NAME = "prod/oauth/client-secret"
PASSWORD_MIN_LENGTH = 12
KEY_SIZE = 32
TOKEN_TTL_SECONDS = 3600


def client_secret() -> str:
    client = boto3.client("secretsmanager", region_name=os.environ.get("AWS_REGION", "eu-west-1"))
    return client.get_secret_value(SecretId=CLIENT_SECRET_NAME)["SecretString"]


def auth_headers(api_key: str) -> dict[str, str]:
    return {API_KEY_HEADER: api_key, "Accept": "application/json"}
