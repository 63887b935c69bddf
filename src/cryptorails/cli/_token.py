"""`cryptorails token issue|verify|jwks`: signed tokens for operators and scripts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import click

from cryptorails import canonical
from cryptorails.algorithms import Algorithm, KeyKind
from cryptorails.cli._common import (
    cli,
    context_options,
    emit,
    fail,
    format_option,
    keystore_options,
    trusted_token,
)
from cryptorails.context import Context
from cryptorails.errors import VerificationError
from cryptorails.keys import Keyring
from cryptorails.tokens import TokenIssuer

_TOKEN_ALGORITHMS = [a.value for a in Algorithm if a.kind is not KeyKind.AEAD and not a.verify_only]


@cli.group()
def token() -> None:
    """Issue and verify signed tokens (JWS over canonical JSON)."""


@token.command("issue")
@keystore_options
@context_options
@click.option("--issuer", required=True, help="The iss claim.")
@click.option("--ttl", type=click.IntRange(min=1), default=3600, show_default=True, help="Seconds.")
@click.option("--audience", multiple=True, help="The aud claim (repeat for several).")
@click.option("--claims", default="{}", help="Extra claims as a JSON object.")
@click.option(
    "--algorithm",
    type=click.Choice(_TOKEN_ALGORITHMS),
    help="For a new keyset only (default EdDSA).",
)
@format_option
def token_issue(
    keyring: Keyring,
    ctx: Context,
    issuer: str,
    ttl: int,
    audience: tuple[str, ...],
    claims: str,
    algorithm: str | None,
    fmt: str,
) -> None:
    """Issue a token signed with the primary key of TENANT/PURPOSE."""
    try:
        # Strict: these claims get signed, so duplicate names or NaN are refused, not
        # silently resolved the way json.loads would.
        extra = canonical.loads(claims)
    except canonical.CanonicalJSONError as e:
        fail(f"error: --claims is not strict JSON: {e}")
    if not isinstance(extra, dict):
        fail("error: --claims must be a JSON object")
    if algorithm is not None:
        keyring.keyset(ctx, algorithm=Algorithm(algorithm))
    aud: str | list[str] | None = None
    if len(audience) == 1:
        aud = audience[0]
    elif audience:
        aud = list(audience)
    try:
        jwt = TokenIssuer(keyring, ctx, issuer=issuer).issue(
            extra, timedelta(seconds=ttl), audience=aud
        )
    except (TypeError, ValueError) as e:
        fail(f"error: {e}")
    emit(fmt, {"token": jwt}, jwt)


@token.command("verify")
@click.argument("source", metavar="TOKEN", default="-")
@click.option(
    "--trust",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Trust file (see cryptorails.tokens.load_trust_file).",
)
@click.option("--tenant", help="Which tenant's trust to use (needed if the file has several).")
@click.option(
    "--explain",
    is_flag=True,
    help="Print the internal reason of a failure. For operators only: never expose it.",
)
@format_option
def token_verify(source: str, trust: Path, tenant: str | None, explain: bool, fmt: str) -> None:
    """Verify TOKEN (or stdin with -) and print its claims.

    Exits 1 with "verification failed" when it does not verify, whatever the cause.
    """
    trusted, tenant, raw = trusted_token(trust, tenant, source)
    try:
        claims = trusted.verify(tenant, raw)
    except VerificationError as e:
        message = f"{e} (reason: {e.reason.value})" if explain else str(e)
        if fmt == "json":
            failure = {"verified": False, **({"reason": e.reason.value} if explain else {})}
            click.echo(json.dumps(failure))
        fail(message, 1)
    data: dict[str, object] = {"verified": True, "tenant": tenant, "claims": dict(claims)}
    emit(fmt, data, json.dumps(dict(claims), indent=2, ensure_ascii=False))


@token.command("jwks")
@keystore_options
@context_options
@format_option
def token_jwks(keyring: Keyring, ctx: Context, fmt: str) -> None:
    """Print the public JWK Set of TENANT/PURPOSE (for relying parties)."""
    jwks = keyring.jwks(ctx)
    emit(fmt, jwks, json.dumps(jwks, indent=2))
