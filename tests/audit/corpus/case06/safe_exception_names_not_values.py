# expect: none
"""Secret lookup from the vault; errors name the secret, never its value."""

import hvac


class SecretNotFound(KeyError):
    pass


class Vault:
    def __init__(self, url: str, role: str) -> None:
        self._client = hvac.Client(url=url)
        self._role = role

    def read(self, name: str) -> str:
        response = self._client.secrets.kv.v2.read_secret_version(path=name)
        data = response.get("data", {}).get("data", {})
        if "value" not in data:
            raise SecretNotFound(f"secret {name!r} has no 'value' field (role {self._role})")
        return data["value"]

    def require(self, names: list[str]) -> dict[str, str]:
        missing = [n for n in names if not self._client.secrets.kv.v2.list_secrets(path=n)]
        if missing:
            raise SecretNotFound(f"missing secrets: {', '.join(missing)}")
        return {n: self.read(n) for n in names}
