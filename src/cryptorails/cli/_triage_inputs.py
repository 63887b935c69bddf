"""`cryptorails triage token|request|logs`: explain a failure from captured inputs.

Operator tools, never on the serving path: they name the exact check that failed.
Secrets for `triage request` come from an environment variable or a file, never from
the command line (argv is visible to every user of the host), and are never printed.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from cryptorails.cli._common import emit, fail, format_option, trusted_token
from cryptorails.cli._triage import triage
from cryptorails.triage._report import parse_when


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


_now_option = click.option(
    "--now",
    callback=_when,
    help="Judge times against this moment (ISO 8601 with zone, or Unix seconds); "
    "default: now. Pass the time of the failure.",
)


@triage.command("token")
@click.argument("source", metavar="TOKEN")
@click.option(
    "--trust",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Trust file (see cryptorails.tokens.load_trust_file).",
)
@click.option("--tenant", help="Whose trust decides (needed if the file has several).")
@_now_option
@click.option(
    "--leeway",
    type=click.IntRange(min=0, max=86400),
    help="Seconds of clock skew tolerated (default: the tenant's configured leeway).",
)
@format_option
def triage_token_command(
    source: str, trust: Path, tenant: str | None, now: datetime | None, leeway: int | None, fmt: str
) -> None:
    """Explain why TOKEN (or stdin with -) does or does not verify.

    Shows the header and claims (unverified until the verdict), the keyset the trust
    file selects, the kid and alg, canonical-JSON status, every time claim against now,
    the verdict with its internal reason, and a diagnosis (clock skew included).
    Exits 0 when the token verifies, 1 when it does not.
    """
    from cryptorails.triage._token import triage_token

    trusted, tenant, raw = trusted_token(trust, tenant, source)
    report = triage_token(
        raw,
        trusted,
        tenant,
        now=now,
        leeway=None if leeway is None else timedelta(seconds=leeway),
    )
    emit(fmt, report.data, report.text)
    if not report.verified:
        raise click.exceptions.Exit(1)


def _read_secret(secret_env: str | None, secret_file: Path | None) -> str | None:
    """The secret text from an environment variable or a file (never from argv)."""
    if secret_env is not None and secret_file is not None:
        fail("error: pass --secret-env or --secret-file, not both")
    if secret_env is not None:
        value = os.environ.get(secret_env)
        if not value:
            fail(f"error: environment variable {secret_env} is not set or empty")
        return value.strip()
    if secret_file is not None:
        try:
            text = secret_file.read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            fail(f"error: cannot read the secret file {secret_file}: {getattr(e, 'strerror', e)}")
        if not text:
            fail(f"error: the secret file {secret_file} is empty")
        return text
    return None


def _emit_exit(fmt: str, data: dict[str, Any], text: str, ok: bool) -> None:
    emit(fmt, data, text)
    if not ok:
        raise click.exceptions.Exit(1)


_HTTPSIG_ALGORITHMS = [
    "ed25519",
    "ecdsa-p256-sha256",
    "rsa-pss-sha512",
    "rsa-v1_5-sha256",
    "hmac-sha256",
]


def _httpsig_key(key_file: Path | None, alg: str | None, secret: str | None) -> Any:
    """The RFC 9421 key: a PEM key file (its public half), or an HMAC secret (base64)."""
    import base64
    import binascii

    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import (
        load_pem_private_key,
        load_pem_public_key,
    )

    from cryptorails.httpsig import SignatureKey
    from cryptorails.secret import Secret

    if key_file is None:
        if alg != "hmac-sha256" or secret is None:
            return None
        try:
            raw = base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            fail("error: an hmac-sha256 secret is given as base64")
        return SignatureKey("hmac-sha256", Secret(raw))
    try:
        pem = key_file.read_bytes()
    except OSError as e:
        fail(f"error: cannot read {key_file}: {e.strerror}")
    try:
        key: Any = load_pem_public_key(pem)
    except ValueError:
        try:
            key = load_pem_private_key(pem, None).public_key()
        except (ValueError, TypeError):
            fail(f"error: {key_file} is not an unencrypted PEM public or private key")
    if alg is None:
        if isinstance(key, ed25519.Ed25519PublicKey):
            alg = "ed25519"
        elif isinstance(key, ec.EllipticCurvePublicKey):
            alg = "ecdsa-p256-sha256"
        elif isinstance(key, rsa.RSAPublicKey):
            fail("error: an RSA key needs --alg rsa-pss-sha512 or --alg rsa-v1_5-sha256")
        else:
            fail(f"error: {key_file} holds a key type RFC 9421 signing does not use")
    try:
        return SignatureKey(alg, key)
    except (TypeError, ValueError) as e:
        fail(f"error: {key_file} does not fit --alg {alg}: {e}")


def _open_store(url: str, namespace: str) -> tuple[Any, str]:
    from urllib.parse import unquote, urlsplit

    from cryptorails.stores import open_store
    from cryptorails.stores._base import display_url

    parts = urlsplit(url)
    if parts.scheme.lower() == "sqlite" and not Path(unquote(parts.path)).is_file():
        # Opening would create an empty store: for a read-only check that is a typo.
        fail(f"error: no SQLite store at {display_url(url)}")
    return open_store(url, namespace=namespace), display_url(url)


@triage.command("request")
@click.argument("file", type=click.File("rb"))
@click.option("--entry", type=click.IntRange(min=0), default=0, help="HAR entry (0-based).")
@click.option(
    "--scheme",
    type=click.Choice(["https", "http"]),
    default="https",
    show_default=True,
    help="Scheme of a raw request's target URI.",
)
@click.option("--secret-env", metavar="VAR", help="Environment variable holding the secret.")
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File holding the secret (whsec_/whpk_ text, a provider secret, or base64 for "
    "RFC 9421 hmac-sha256).",
)
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="RFC 9421: PEM public key (or private key: its public half is used).",
)
@click.option(
    "--key-id", help="RFC 9421: the keyid the key is trusted under (default: the request's)."
)
@click.option("--alg", type=click.Choice(_HTTPSIG_ALGORITHMS), help="RFC 9421 key algorithm.")
@click.option("--store", "store_url", metavar="URL", help="Replay store to CHECK (never written).")
@click.option(
    "--store-namespace",
    default="cryptorails",
    show_default=True,
    help="The store namespace the service opens its store with.",
)
@click.option(
    "--tolerance",
    type=click.IntRange(min=1, max=86400 * 30),
    default=300,
    show_default=True,
    help="Seconds a timestamp may lie from now, either way.",
)
@_now_option
@format_option
def triage_request_command(
    file: Any,
    entry: int,
    scheme: str,
    secret_env: str | None,
    secret_file: Path | None,
    key_file: Path | None,
    key_id: str | None,
    alg: str | None,
    store_url: str | None,
    store_namespace: str,
    tolerance: int,
    now: datetime | None,
    fmt: str,
) -> None:
    """Explain a captured signed request: a raw HTTP/1.1 FILE (or -) or a HAR file.

    Reports the signature scheme, what an RFC 9421 signature does not cover, the
    Content-Digest, the time window, the replay store (read only) and, with a secret or
    key, the verifier's verdict. Exits 0 when every check passes, 1 when one fails.
    """
    from cryptorails.triage._capture import load_request
    from cryptorails.triage._request import triage_request

    data = file.read(32 * 1024 * 1024 + 1)
    try:
        captured = load_request(data, entry=entry, scheme=scheme)
    except ValueError as e:
        fail(f"error: {file.name} is not a raw HTTP/1.1 request or a HAR file: {e}")
    secret = _read_secret(secret_env, secret_file)
    key = _httpsig_key(key_file, alg, secret)
    if alg == "hmac-sha256" and key_file is None:
        secret = None  # it is the RFC 9421 key, not a webhook secret
    store, label = _open_store(store_url, store_namespace) if store_url else (None, "")
    try:
        report = triage_request(
            captured,
            now=now,
            tolerance=timedelta(seconds=tolerance),
            secret=secret,
            key=key,
            key_id=key_id,
            store=store,
            store_label=label,
        )
    finally:
        if store is not None:
            store.close()
    _emit_exit(fmt, report.data, report.text, report.ok)


@triage.command("logs")
@click.argument(
    "files", nargs=-1, required=True, type=click.File("r", encoding="utf-8", errors="replace")
)
@format_option
def triage_logs_command(files: tuple[Any, ...], fmt: str) -> None:
    """Summarize verify_failed events in log FILES (or -) and flag patterns.

    Reads cryptorails.diagnostics JSON lines (under any formatter prefix), structlog
    JSON and logfmt; counts by reason, key id, tenant, host and hour. Exits 1 when any
    verify_failed event is found, 0 when none.
    """
    from itertools import chain

    from cryptorails.triage._logs import triage_logs

    report = triage_logs(chain.from_iterable(files))
    _emit_exit(fmt, report.data, report.text, not report.found)
