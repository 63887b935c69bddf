"""`TrustedIssuers`: which verifier serves which tenant, for multi-tenant services."""

from __future__ import annotations

from collections.abc import Mapping

from cryptorails.context import validate_label
from cryptorails.errors import ConfigurationError, Reason, VerificationError
from cryptorails.tokens._verifier import TokenVerifier

__all__ = ["TrustedIssuers"]


class TrustedIssuers:
    """A tenant -> `TokenVerifier` registry.

    The tenant comes from routing or server state (the host name, the URL's tenant
    segment after authentication of the route), never from the token: a token for tenant
    A is only ever checked against tenant A's verifier, so tenant B's keys can never
    vouch for it, whatever its `kid` or `iss` say.

    Example::

        trusted = TrustedIssuers({"acme": acme_verifier, "globex": globex_verifier})
        claims = trusted.verify(request.state.tenant, bearer_token)
    """

    __slots__ = ("_verifiers",)

    def __init__(self, verifiers: Mapping[str, TokenVerifier] | None = None) -> None:
        self._verifiers: dict[str, TokenVerifier] = {}
        for tenant, verifier in (verifiers or {}).items():
            self.add(tenant, verifier)

    def add(self, tenant: str, verifier: TokenVerifier) -> None:
        """Register the verifier of `tenant`.

        Raises:
            TypeError: not a TokenVerifier.
            ValueError: an invalid tenant label.
            ConfigurationError: the tenant is registered already, or the same verifier
                object serves another tenant (tenants never share trust).
        """
        validate_label("tenant", tenant)
        if not isinstance(verifier, TokenVerifier):
            raise TypeError("verifier must be a TokenVerifier")
        if tenant in self._verifiers:
            raise ConfigurationError(f"tenant {tenant!r} already has a verifier")
        if any(v is verifier for v in self._verifiers.values()):
            raise ConfigurationError("one TokenVerifier must not serve two tenants")
        self._verifiers[tenant] = verifier

    def verify(self, tenant: str, token: str | bytes) -> Mapping[str, object]:
        """Verify `token` with the verifier of `tenant` only.

        Raises:
            TypeError: `tenant` is not a str (it is server state, not input).
            VerificationError: unknown tenant (reason UNKNOWN_TENANT) or any failure of
                that tenant's verifier.
        """
        if not isinstance(tenant, str):
            raise TypeError("tenant must be a str")
        verifier = self._verifiers.get(tenant)
        if verifier is None:
            raise VerificationError(Reason.UNKNOWN_TENANT)
        return verifier.verify(token)

    @property
    def tenants(self) -> tuple[str, ...]:
        """The registered tenants."""
        return tuple(self._verifiers)

    def get(self, tenant: str) -> TokenVerifier | None:
        """The verifier registered for `tenant`, or None (operator tooling, e.g. triage)."""
        return self._verifiers.get(tenant)

    def __contains__(self, tenant: object) -> bool:
        return tenant in self._verifiers

    def __len__(self) -> int:
        return len(self._verifiers)
