"""Output of the secrets scanner: text for people, JSON, SARIF 2.1.0."""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from urllib.parse import quote

from cryptorails._sarif import SarifResult, SarifRule, sarif_log
from cryptorails.redact._detectors import KINDS
from cryptorails.secrets_scan._model import Finding

__all__ = ["DESCRIPTIONS", "render_json", "render_sarif", "render_text"]


DESCRIPTIONS: dict[str, str] = {
    "private-key": "A PEM private key (PKCS#8, encrypted PKCS#8, OpenSSH, RSA, EC, DSA, PGP).",
    "gcp-service-account": "The private key of a Google Cloud service-account JSON key file.",
    "jwt": "A signed JSON Web Token: a bearer credential until it expires.",
    "aws-access-key": "An AWS access key id (AKIA/ASIA...); its secret key is usually near.",
    "aws-secret-key": "An AWS secret access key assigned to a recognisable name.",
    "github-token": "A GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_).",
    "gitlab-token": "A GitLab token (glpat-, glptt-, glrt-, gldt-).",
    "slack-token": "A Slack token (xoxb-, xoxp-, xoxa-, xapp-, ...).",
    "slack-webhook": "A Slack incoming-webhook URL: anyone holding it can post.",
    "stripe-key": "A Stripe secret or restricted key (sk_/rk_, live or test).",
    "google-api-key": "A Google API key (AIza...).",
    "azure-storage-key": "An Azure storage account key or shared access key.",
    "webhook-secret": "A Standard Webhooks / Stripe signing secret (whsec_...).",
    "basic-auth-url": "A password inside a URL (scheme://user:password@host).",
    "bearer-credential": "The credential of an Authorization header (Bearer, Basic, Token).",
    "session-cookie": "A session cookie value (Cookie / Set-Cookie, HAR cookies).",
    "generic-credential": "A high-entropy value assigned to a credential name "
    "(password, secret, token, api_key, ...).",
    "known-key": "Exact key material of the given keystore, raw or encoded.",
}
_HELP = (
    "{what}\n\nTreat the secret as compromised: revoke or rotate it first, then remove it "
    "from the artifact and from wherever the artifact was copied (log archives, backups, "
    "tickets). Find how it got there: a logger without redaction (`cryptorails.redact`), "
    "a header captured by tracing, a debug dump. To accept a finding deliberately, add it "
    "to the baseline (`cryptorails secrets --write-baseline`)."
)


def render_text(findings: Sequence[Finding], *, files: int, suppressed: int) -> str:
    """Findings grouped by file, one line each, with masked values."""
    lines: list[str] = []
    for path, group in groupby(findings, key=lambda f: f.path):
        lines.append(path)
        for f in group:
            where = f"{f.line}:{f.column}"
            lines.append(f"  {where:<10} {f.kind:<20} {f.preview}  fp={f.fingerprint[:12]}")
    n_files = len({f.path for f in findings})
    summary = (
        f"{len(findings)} secret{'s' * (len(findings) != 1)} in {n_files} "
        f"file{'s' * (n_files != 1)}"
        if findings
        else "no secrets found"
    )
    summary += f" ({files} file{'s' * (files != 1)} scanned"
    summary += f", {suppressed} accepted by the baseline)" if suppressed else ")"
    lines.append(summary)
    return "\n".join(lines)


def render_json(findings: Sequence[Finding]) -> str:
    """A JSON list of ``{path, line, column, kind, fingerprint}`` objects."""
    return json.dumps([f.to_json() for f in findings], indent=2)


def _uri(path: str) -> str:
    return quote(Path(path).as_posix(), safe="/:")


def _pascal(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("-"))


def render_sarif(findings: Sequence[Finding], *, version: str) -> str:
    """A SARIF 2.1.0 log: one rule per kind, one result per finding."""
    rules = [
        SarifRule(
            id=kind,
            name=_pascal(kind),
            short_description=DESCRIPTIONS.get(kind, kind),
            help_text=_HELP.format(what=DESCRIPTIONS.get(kind, kind)),
            default_level="error",
        )
        for kind in sorted(KINDS)
    ]
    results = [
        SarifResult(
            rule_id=f.kind,
            level="error",
            message=f"{DESCRIPTIONS.get(f.kind, f.kind)} Value: {f.preview}",
            path=_uri(f.path),
            line=f.line,
            column=f.column,
            fingerprint=f.fingerprint,
        )
        for f in findings
    ]
    log = sarif_log(
        tool="cryptorails",
        version=version,
        rules=rules,
        results=results,
    )
    return json.dumps(log, indent=2, ensure_ascii=False)
